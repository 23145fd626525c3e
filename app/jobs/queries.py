"""Every statement the job store (app.jobs.store) sends, in one place.

Each transition is one autocommitted statement, `WITH j AS (UPDATE ... RETURNING ...) SELECT
j.*, pg_notify(...) FROM j`: one round trip updates the row, queues the NOTIFY and commits (a
lone statement is its own transaction, so the NOTIFY goes out only if the update commits).
The NOTIFY's channel and payload are built here only, by `_notifying`. Every UPDATE is guarded:
status only moves forward, and only the worker holding the lease (`worker_id`) may move a
processing job, so a late or duplicate worker's statement matches no row.

Every statement returns the columns of app.jobs.job.Job (`COLUMNS`). The texts are fixed, so
asyncpg prepares each once per connection. The bare SQL floor of benchmark scenario 3
(bench/floors.py) runs CLAIM and FINISH as they are here.
"""

from __future__ import annotations

import functools

NOTIFY_CHANNEL = "product_job_update"
"""The channel of job changes; its payload is {"id", "status", "images_done"} (app.events reads it)."""

COLUMNS = (
    "id, user_id, user_plan, job_type, lang, status, images_done, jsonb_array_length(images) AS image_count,"
    " attempts, error, created_at, started_at, completed_at, confirmed_at,"
    " result::text AS result_json, confirmed_items::text AS confirmed_items_json"
)
_TABLE = "product_recognition_jobs"


def _notifying(update: str, extra: str = "", joins: str = "") -> str:
    """`update` RETURNING the job's columns, with a NOTIFY per changed row (and `extra` columns, from
    `joins`) in the same statement."""
    payload = "json_build_object('id', j.id, 'status', j.status, 'images_done', j.images_done)::text"
    return (
        f"WITH j AS ({update} RETURNING {COLUMNS}) "
        f"SELECT j.*{extra}, pg_notify('{NOTIFY_CHANNEL}', {payload}) FROM j{joins}"
    )


# --- the API's submit: user upsert, idempotency, quota and the job with its images (migrations/0004)

SUBMIT = "SELECT id, created_at, user_plan, existing FROM foodai_submit_job({})".format(
    ", ".join(f"${n}" for n in range(1, 14)))
OVER_QUOTA = "FQ001"  # the SQLSTATE foodai_submit_job raises for a full quota window

# --- the worker's transitions ($1 the job, $2 the worker holding it, for all but the claim)

_HELD = "WHERE id = $1 AND status = 'processing' AND worker_id = $2"

CLAIM = _notifying(
    f"UPDATE {_TABLE} SET status = 'processing', started_at = coalesce(started_at, now()), "
    "attempts = attempts + 1, lease_expires_at = now() + make_interval(secs => $4), worker_id = $3 "
    "WHERE id = $1 AND job_type = $2 AND status = 'pending'",
    extra=(
        ", (SELECT coalesce(jsonb_object_agg(a.raw_key, jsonb_build_array(a.name, a.category, a.unit)), '{}')"
        "::text FROM user_item_aliases a WHERE a.user_id = j.user_id) AS aliases"
        ", i.image_indexes, i.image_mimes, i.image_data"
    ),
    joins=(  # the job's images in one pass, as three arrays in index order (an aggregate: always one row)
        ", LATERAL (SELECT coalesce(array_agg(index ORDER BY index), '{}') AS image_indexes,"
        " coalesce(array_agg(mime ORDER BY index), '{}') AS image_mimes,"
        " coalesce(array_agg(data ORDER BY index), '{}') AS image_data"
        " FROM product_recognition_job_images WHERE job_id = j.id) AS i"
    ),
)
PROGRESS = _notifying(f"UPDATE {_TABLE} SET images_done = $3 {_HELD}")
FINISH = _notifying(
    f"UPDATE {_TABLE} SET status = $3, result = $4::jsonb, error = $5, completed_at = now(), "
    f"lease_expires_at = NULL, images_done = $6 {_HELD}"
)
RELEASE = _notifying(
    f"UPDATE {_TABLE} SET status = 'pending', worker_id = NULL, lease_expires_at = NULL, "
    f"published_at = NULL, images_done = 0 {_HELD}"
)
EXTEND_LEASES = (
    f"UPDATE {_TABLE} SET lease_expires_at = now() + make_interval(secs => $3) "
    "WHERE id = ANY($1::uuid[]) AND status = 'processing' AND worker_id = $2"
)

# --- the sweeper ($1 WORKER_MAX_ATTEMPTS, $2 at most this many jobs); SKIP LOCKED splits the work of
# sweepers in several processes

_EXPIRED = (
    f"id IN (SELECT id FROM {_TABLE} WHERE status = 'processing' AND lease_expires_at < now()"
    " AND attempts {} $1 LIMIT $2 FOR UPDATE SKIP LOCKED)"
)
FAIL_EXHAUSTED = _notifying(
    f"UPDATE {_TABLE} SET status = 'failed', completed_at = now(), lease_expires_at = NULL, "
    "error = 'the job did not finish after its last attempt (worker lost or timed out)' "
    "WHERE " + _EXPIRED.format(">=")
)
REQUEUE_EXPIRED = _notifying(
    f"UPDATE {_TABLE} SET status = 'pending', worker_id = NULL, lease_expires_at = NULL, published_at = NULL, "
    "images_done = 0 WHERE " + _EXPIRED.format("<")
)
# pending jobs never handed to Kafka, or handed over $1 seconds ago and never claimed; the rows stay
# locked until the caller's transaction ends
UNPUBLISHED = (
    f"SELECT {COLUMNS} FROM {_TABLE} WHERE status = 'pending' AND created_at < now() - make_interval(secs => $1)"
    " AND (published_at IS NULL OR published_at < now() - make_interval(secs => $1))"
    " ORDER BY created_at LIMIT $2 FOR UPDATE SKIP LOCKED"
)
# the outbox's sent mark: one text for any number of ids (an IN list would be a statement per batch size)
MARK_PUBLISHED = f"UPDATE {_TABLE} SET published_at = now() WHERE id = ANY($1::uuid[]) AND status = 'pending'"

# --- confirm: the user's reviewed items (a later confirm replaces an earlier one)

SET_CONFIRMED = (
    f"UPDATE {_TABLE} SET confirmed_items = $2::jsonb, confirmed_at = now() WHERE id = $1 RETURNING {COLUMNS}"
)

# --- reads: never image bytes

GET_JOB = f"SELECT {COLUMNS} FROM {_TABLE} WHERE id = $1 AND user_id = $2"
# unscoped on purpose: one statement serves the watchers of many users, who check each job's owner
GET_JOBS_BY_ID = f"SELECT {COLUMNS} FROM {_TABLE} WHERE id = ANY($1::uuid[])"
ANY_UNFINISHED = f"SELECT EXISTS (SELECT 1 FROM {_TABLE} WHERE status IN ('pending', 'processing'))"


@functools.cache
def history_page(*, after: bool, job_type: bool, status: bool) -> str:
    """A keyset page of one user's jobs in (created_at, id) descending order. Parameters: $1 the user,
    $2 the page size, then in this order those present: the cursor's created_at and id, the job type,
    the status. One text per combination of filters, so each has its own prepared plan."""
    where, n = ["user_id = $1"], 3
    if after:
        where.append(f"(created_at, id) < (${n}, ${n + 1})")
        n += 2
    if job_type:
        where.append(f"job_type = ${n}")
        n += 1
    if status:
        where.append(f"status = ${n}")
    return (f"SELECT {COLUMNS} FROM {_TABLE} WHERE {' AND '.join(where)}"
            " ORDER BY created_at DESC, id DESC LIMIT $2")
