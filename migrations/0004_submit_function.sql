-- foodai 0004: the submit in one round trip.
-- The submit used to be a transaction of five round trips from the API (BEGIN, user upsert,
-- quota count, job + images insert, COMMIT), each also costing the API an ORM statement.
-- This function does the same work in one statement, called in autocommit: it is atomic
-- because a function runs inside its calling statement, so a refused quota (an exception)
-- takes the user row and the counts back with it.
--
-- Returns one row: the job's id and created_at and the user's plan, with existing = true
-- when the idempotency key was used before (that job's id and created_at, nothing stored,
-- no quota counted). Raises SQLSTATE 'FQ001' when a quota window is over its limit, with
-- DETAIL a JSON object {"window", "limit", "seconds_left", "plan"} (app.repos.submissions).
-- p_limits is {"free": {"minute": n, "day": n}, "paid": {...}}, or NULL for no quota.
--
-- With p_announce (a JSON object: the API's topics and the Kafka message's headers), a new
-- job is also announced on channel foodai_job_submitted, at commit: an idle worker of those
-- topics that owns the job's Kafka partition claims it at once instead of waiting for its
-- next fetch (app.queue.hints). Kafka stays the queue.

CREATE FUNCTION foodai_submit_job(
    p_user_id uuid, p_plan text, p_job_type text, p_lang text, p_idempotency_key text,
    p_limits jsonb, p_announce jsonb, p_images jsonb, p_indexes integer[], p_mimes text[], p_sha256s text[],
    p_sizes integer[], p_datas bytea[],
    OUT id uuid, OUT created_at timestamptz, OUT user_plan text, OUT existing boolean
) LANGUAGE plpgsql AS $$
DECLARE
    over record;
BEGIN
    -- first sight creates the user; a plan from the token overwrites the stored one
    INSERT INTO users AS u (id, plan) VALUES (p_user_id, coalesce(p_plan, 'free'))
    ON CONFLICT ON CONSTRAINT users_pkey DO UPDATE SET plan = coalesce(p_plan, u.plan)
    RETURNING u.plan INTO user_plan;

    IF p_idempotency_key IS NOT NULL THEN  -- a retry is answered with the first job, at no quota cost
        SELECT j.id, j.created_at INTO id, created_at FROM product_recognition_jobs AS j
        WHERE j.user_id = p_user_id AND j.idempotency_key = p_idempotency_key;
        IF FOUND THEN
            existing := true;
            RETURN;
        END IF;
    END IF;

    IF p_limits IS NOT NULL THEN
        -- count this submission in its minute and day windows (the rows stay locked until the
        -- statement ends, so one user's concurrent submits are counted one after another); on
        -- the user's first submission of a day, delete windows older than two days
        WITH counted AS (
            INSERT INTO quota_counters AS q (user_id, window_kind, window_start, count)
            SELECT p_user_id, w.k, date_trunc(w.k, now(), 'UTC'), 1
            FROM unnest(ARRAY['minute', 'day']) WITH ORDINALITY AS w(k, n) ORDER BY w.n
            ON CONFLICT (user_id, window_kind, window_start) DO UPDATE SET count = q.count + 1
            RETURNING q.window_kind, q.count, q.window_start
        ), pruned AS (
            DELETE FROM quota_counters AS old
            WHERE old.user_id = p_user_id AND old.window_start < now() - interval '2 days'
              AND EXISTS (SELECT 1 FROM counted AS c WHERE c.window_kind = 'day' AND c.count = 1)
        )
        SELECT c.window_kind, (p_limits -> user_plan ->> c.window_kind)::integer AS lim,
               greatest(1, ceil(extract(epoch FROM
                   c.window_start + CAST('1 ' || c.window_kind AS interval) - now())))::integer AS seconds_left
        INTO over
        FROM counted AS c
        WHERE c.count > (p_limits -> user_plan ->> c.window_kind)::integer
        ORDER BY seconds_left DESC
        LIMIT 1;
        IF FOUND THEN
            RAISE EXCEPTION 'quota exceeded' USING ERRCODE = 'FQ001', DETAIL = json_build_object(
                'window', over.window_kind, 'limit', over.lim, 'seconds_left', over.seconds_left,
                'plan', user_plan)::text;
        END IF;
    END IF;

    -- the job and its images; a key taken meanwhile by a concurrent submit stores nothing
    INSERT INTO product_recognition_jobs AS j (user_id, user_plan, job_type, lang, images, idempotency_key)
    VALUES (p_user_id, user_plan, p_job_type, p_lang, p_images, p_idempotency_key)
    ON CONFLICT (user_id, idempotency_key) WHERE idempotency_key IS NOT NULL DO NOTHING
    RETURNING j.id, j.created_at INTO id, created_at;
    IF NOT FOUND THEN  -- that submit has committed: this statement sees its job
        SELECT j.id, j.created_at INTO id, created_at FROM product_recognition_jobs AS j
        WHERE j.user_id = p_user_id AND j.idempotency_key = p_idempotency_key;
        existing := true;
        RETURN;
    END IF;
    INSERT INTO product_recognition_job_images (job_id, index, mime, sha256, size, data)
    SELECT id, i.index, i.mime, i.sha256, i.size, i.data
    FROM unnest(p_indexes, p_mimes, p_sha256s, p_sizes, p_datas) AS i(index, mime, sha256, size, data);
    IF p_announce IS NOT NULL THEN
        PERFORM pg_notify('foodai_job_submitted', (p_announce || jsonb_build_object(
            'job_id', id, 'job_type', p_job_type, 'user_plan', user_plan))::text);
    END IF;
    existing := false;
END;
$$;
