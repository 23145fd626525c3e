-- foodai 0001: users, recognition jobs, their images.
-- Ids are time-ordered UUIDv7, defaulted in the database. PostgreSQL 18 has uuidv7();
-- 15 to 17 do not, so we define our own (RFC 9562 layout: 48-bit ms timestamp, version 7,
-- variant 10, the rest random) and use it everywhere for one behaviour on every version.

CREATE OR REPLACE FUNCTION foodai_uuid_v7() RETURNS uuid
LANGUAGE plpgsql VOLATILE AS $$
DECLARE
    ms bigint := floor(extract(epoch FROM clock_timestamp()) * 1000);
    bytes bytea := uuid_send(gen_random_uuid());
BEGIN
    bytes := overlay(bytes PLACING substring(int8send(ms) FROM 3) FROM 1 FOR 6);
    bytes := set_byte(bytes, 6, (get_byte(bytes, 6) & 15) | 112);  -- version 7
    bytes := set_byte(bytes, 8, (get_byte(bytes, 8) & 63) | 128);  -- variant 10
    RETURN encode(bytes, 'hex')::uuid;
END $$;

CREATE TABLE users (
    id          uuid PRIMARY KEY,
    plan        text NOT NULL DEFAULT 'free' CHECK (plan IN ('free', 'paid')),
    created_at  timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE product_recognition_jobs (
    id               uuid PRIMARY KEY DEFAULT foodai_uuid_v7(),
    user_id          uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    user_plan        text NOT NULL CHECK (user_plan IN ('free', 'paid')),
    job_type         text NOT NULL CHECK (job_type IN ('receipt', 'products')),
    images           jsonb NOT NULL,          -- [{index, mime, size, sha256}], never the bytes
    lang             text NOT NULL DEFAULT 'en',
    status           text NOT NULL DEFAULT 'pending'
                     CHECK (status IN ('pending', 'processing', 'done', 'failed')),
    images_done      integer NOT NULL DEFAULT 0,  -- progress: images finished so far
    result           jsonb,
    error            text,
    created_at       timestamptz NOT NULL DEFAULT now(),
    started_at       timestamptz,
    completed_at     timestamptz,
    -- delivery bookkeeping: the row is the outbox and, while processing, the lease
    published_at     timestamptz,
    attempts         integer NOT NULL DEFAULT 0,
    lease_expires_at timestamptz,
    worker_id        text,
    idempotency_key  text,
    -- the user's reviewed list (confirmProductJob)
    confirmed_items  jsonb,
    confirmed_at     timestamptz,
    CHECK ((status IN ('done', 'failed')) = (completed_at IS NOT NULL))
);

CREATE INDEX idx_product_recognition_jobs_user
    ON product_recognition_jobs (user_id, created_at DESC);
CREATE INDEX idx_product_recognition_jobs_status
    ON product_recognition_jobs (status, user_plan, created_at ASC);
CREATE UNIQUE INDEX idx_product_recognition_jobs_idempotency
    ON product_recognition_jobs (user_id, idempotency_key) WHERE idempotency_key IS NOT NULL;

-- Image bytes live apart from the job row, so listing jobs never reads them.
CREATE TABLE product_recognition_job_images (
    job_id      uuid NOT NULL REFERENCES product_recognition_jobs (id) ON DELETE CASCADE,
    index       integer NOT NULL CHECK (index >= 0),
    mime        text NOT NULL,
    sha256      text NOT NULL,
    size        integer NOT NULL CHECK (size > 0),
    data        bytea NOT NULL,
    PRIMARY KEY (job_id, index)
);

-- A user's corrections: a receipt line's raw text -> what the user says it is.
CREATE TABLE user_item_aliases (
    user_id     uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    raw_key     text NOT NULL,
    name        text NOT NULL,
    category    text NOT NULL,
    unit        text NOT NULL,
    updated_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (user_id, raw_key)
);
