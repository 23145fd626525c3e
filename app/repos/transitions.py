"""The worker's hot path: each job state change is one autocommit statement over asyncpg.

A transition is `WITH j AS (UPDATE ... RETURNING ...) SELECT j.*, pg_notify(...) FROM j`:
one round trip that updates the row, queues the NOTIFY and commits (a lone statement is
its own transaction, so the NOTIFY still goes out only if the update commits). The ORM
path it replaces took five (BEGIN, UPDATE, SELECT pg_notify, COMMIT, plus a checkout).
The claim also returns what processing needs, the job's images and its owner's
aliases, so a job costs two round trips: claim and finish.

Every UPDATE is guarded like app.repos.jobs's: status only moves forward, and only the
worker holding the lease may move a processing job, so a late or duplicate worker gets
None. The bare SQL floor of benchmark scenario 3 (bench/floors.py) runs these same
statements.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import asyncpg

from app.models import JobStatus
from app.recognition.enrich import Alias
from app.repos.jobs import NOTIFY_CHANNEL

_RETURNED = (
    "id, user_id, user_plan, job_type, lang, status, images_done, attempts, created_at, started_at, completed_at"
)


def _notifying(update: str, extra: str = "", joins: str = "") -> str:
    """An UPDATE ... RETURNING the worker's columns, with the NOTIFY (and `extra` columns, from
    `joins`) in the same statement."""
    payload = "json_build_object('id', j.id, 'status', j.status, 'images_done', j.images_done)::text"
    return (
        f"WITH j AS ({update} RETURNING {_RETURNED}) "
        f"SELECT j.*{extra}, pg_notify('{NOTIFY_CHANNEL}', {payload}) FROM j{joins}"
    )


_HELD = "WHERE id = $1 AND status = 'processing' AND worker_id = $2"

CLAIM = _notifying(
    "UPDATE product_recognition_jobs SET status = 'processing', started_at = coalesce(started_at, now()), "
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
PROGRESS = _notifying(f"UPDATE product_recognition_jobs SET images_done = $3 {_HELD}")
FINISH = _notifying(
    "UPDATE product_recognition_jobs SET status = $3, result = $4::jsonb, error = $5, completed_at = now(), "
    f"lease_expires_at = NULL, images_done = $6 {_HELD}"
)
RELEASE = _notifying(
    "UPDATE product_recognition_jobs SET status = 'pending', worker_id = NULL, lease_expires_at = NULL, "
    f"published_at = NULL, images_done = 0 {_HELD}"
)
EXTEND_LEASES = (
    "UPDATE product_recognition_jobs SET lease_expires_at = now() + make_interval(secs => $3) "
    "WHERE id = ANY($1::uuid[]) AND status = 'processing' AND worker_id = $2"
)


@dataclass(frozen=True, slots=True)
class JobState:
    """The job as a transition left it: what the worker, its metrics and its logs need."""

    id: uuid.UUID
    user_id: uuid.UUID
    user_plan: str
    job_type: str
    lang: str
    status: str
    images_done: int
    attempts: int
    created_at: datetime | None
    started_at: datetime | None
    completed_at: datetime | None

    @classmethod
    def from_row(cls, row: asyncpg.Record) -> JobState:
        return cls(*(row[name] for name in cls.__slots__))


@dataclass(frozen=True, slots=True)
class StoredImage:
    index: int
    mime: str
    data: bytes


@dataclass(frozen=True, slots=True)
class ClaimedJob:
    """A job this worker now holds, with its images (by index) and its owner's aliases."""

    job: JobState
    images: list[StoredImage]
    aliases: dict[str, Alias]


async def claim(
    conn: asyncpg.Connection, *, job_id: uuid.UUID, job_type: str, worker_id: str, lease_s: float
) -> ClaimedJob | None:
    """pending -> processing with a lease; None when another delivery or worker got there first,
    or when no pending job of that id and type exists (a message that names the wrong type)."""
    row = await conn.fetchrow(CLAIM, job_id, job_type, worker_id, lease_s)
    if row is None:
        return None
    images = [StoredImage(i, m, d) for i, m, d in zip(row["image_indexes"], row["image_mimes"], row["image_data"],
                                                         strict=True)]
    aliases = {key: Alias(name=v[0], category=v[1], unit=v[2]) for key, v in json.loads(row["aliases"]).items()}
    return ClaimedJob(JobState.from_row(row), images, aliases)


async def record_progress(conn: asyncpg.Connection, *, job_id: uuid.UUID, worker_id: str,
                          images_done: int) -> JobState | None:
    """Store how many images are finished; None when the lease was lost."""
    return _state(await conn.fetchrow(PROGRESS, job_id, worker_id, images_done))


async def finish(
    conn: asyncpg.Connection,
    *,
    job_id: uuid.UUID,
    worker_id: str,
    status: JobStatus,
    result: dict[str, Any] | None,
    error: str | None,
    images_done: int,
) -> JobState | None:
    """processing -> done|failed, once; None when this worker no longer holds the job."""
    assert status.terminal
    document = None if result is None else json.dumps(result, separators=(",", ":"))
    return _state(await conn.fetchrow(FINISH, job_id, worker_id, status.value, document, error, images_done))


async def release(conn: asyncpg.Connection, *, job_id: uuid.UUID, worker_id: str) -> JobState | None:
    """processing -> pending (shutdown or retry later); the attempt still counts."""
    return _state(await conn.fetchrow(RELEASE, job_id, worker_id))


async def extend_leases(
    conn: asyncpg.Connection, *, job_ids: Sequence[uuid.UUID], worker_id: str, lease_s: float
) -> int:
    """Heartbeat: push the lease of jobs this worker still holds; returns how many it holds."""
    status = await conn.execute(EXTEND_LEASES, list(job_ids), worker_id, lease_s)
    return int(status.rsplit(" ", 1)[1])


def _state(row: asyncpg.Record | None) -> JobState | None:
    return None if row is None else JobState.from_row(row)
