"""The job store: every state change and every read of a job, over the process's asyncpg pool.

Submit, claim, progress, finish, release, lease renewal, the sweeper's requeue and fail, the
outbox's published mark and republish, and confirm's reviewed items: each is one method here
and one statement of app.jobs.queries, where the NOTIFY of a change is part of the statement.
Callers decide when (the worker's loop, the sweeper's interval, a mutation); the store decides
how. Every method returns `Job` rows (app.jobs.job), or None when a guarded transition matched
no row: another delivery or worker got there first, or this worker no longer holds the lease.
"""

from __future__ import annotations

import contextlib
import json
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import asyncpg

from app.domain import JobStatus, JobType, Plan
from app.jobs import queries as q
from app.jobs.job import Job, NewImage, OverQuota, StoredImage, Submission
from app.recognition.enrich import Alias

SWEEP_LIMIT = 500  # jobs per sweeper statement


@dataclass(frozen=True, slots=True)
class ClaimedJob:
    """A job this worker now holds, with its images (by index) and its owner's aliases."""

    job: Job
    images: list[StoredImage]
    aliases: dict[str, Alias]


class JobStore:
    """Jobs in PostgreSQL, through `db`: the process's pool (each call checks a connection out for one
    autocommitted statement, or for the republish one transaction), or one connection (a caller's
    transaction, a test's connection)."""

    def __init__(self, db: asyncpg.Pool | asyncpg.Connection) -> None:
        self.db = db

    # --- the API's writes

    async def submit(
        self, *, user_id: uuid.UUID, plan: str | None, job_type: str, lang: str, images: Sequence[NewImage],
        idempotency_key: str | None, limits: Mapping[str, Mapping[str, int]] | None,
        announce: Mapping[str, object] | None = None,
    ) -> Submission:
        """Store a pending job for the user (created on first sight; `plan` from the token overwrites the
        stored one), counted against `limits` by plan and window; OverQuota when a window is full and
        nothing stored. A reused idempotency key stores nothing and answers with the first job, as it is
        now. With `announce` (app.queue.hints.announcement), NOTIFY the new job to idle workers."""
        try:
            row = await self.db.fetchrow(
                q.SUBMIT, user_id, plan, job_type, lang, idempotency_key,
                None if limits is None else json.dumps(limits), None if announce is None else json.dumps(announce),
                json.dumps([i.meta() for i in images]),
                [i.index for i in images], [i.mime for i in images], [i.sha256 for i in images],
                [i.size for i in images], [i.data for i in images],
            )
        except asyncpg.PostgresError as exc:
            if exc.sqlstate != q.OVER_QUOTA:
                raise
            detail = json.loads(exc.detail)
            raise OverQuota(detail["window"], detail["limit"], detail["seconds_left"], detail["plan"]) from None
        assert row is not None
        if row["existing"]:  # a retry (rare): the first job as it is now (jobs live as long as their user)
            [first] = await self.get_jobs_by_id([row["id"]])
            return Submission(first, existing=True)
        return Submission(_new_job(row["id"], row["created_at"], user_id, Plan(row["user_plan"]), JobType(job_type),
                                   lang, len(images)), existing=False)

    async def set_confirmed(self, *, job_id: uuid.UUID, items: list[dict[str, Any]]) -> Job | None:
        """Store the user's reviewed items on the job (a later confirm replaces an earlier one); None when
        there is no such job."""
        return _job(await self.db.fetchrow(q.SET_CONFIRMED, job_id, json.dumps(items)))

    # --- the worker's transitions

    async def claim(self, *, job_id: uuid.UUID, job_type: str, worker_id: str, lease_s: float) -> ClaimedJob | None:
        """pending -> processing with a lease, returning the job's images and its owner's aliases; None when
        another delivery or worker got there first, or no pending job of that id and type exists."""
        row = await self.db.fetchrow(q.CLAIM, job_id, job_type, worker_id, lease_s)
        if row is None:
            return None
        images = [StoredImage(i, m, d) for i, m, d in zip(row["image_indexes"], row["image_mimes"],
                                                             row["image_data"], strict=True)]
        aliases = {key: Alias(name=v[0], category=v[1], unit=v[2]) for key, v in json.loads(row["aliases"]).items()}
        return ClaimedJob(Job.from_row(row), images, aliases)

    async def record_progress(self, *, job_id: uuid.UUID, worker_id: str, images_done: int) -> Job | None:
        """Store how many images are finished; None when the lease was lost."""
        return _job(await self.db.fetchrow(q.PROGRESS, job_id, worker_id, images_done))

    async def finish(self, *, job_id: uuid.UUID, worker_id: str, status: JobStatus, result: dict[str, Any] | None,
                     error: str | None, images_done: int) -> Job | None:
        """processing -> done|failed, once; None when this worker no longer holds the job."""
        assert status.terminal
        document = None if result is None else json.dumps(result, separators=(",", ":"))
        return _job(await self.db.fetchrow(q.FINISH, job_id, worker_id, status.value, document, error, images_done))

    async def release(self, *, job_id: uuid.UUID, worker_id: str) -> Job | None:
        """processing -> pending and unpublished (shutdown or retry later); the attempt still counts."""
        return _job(await self.db.fetchrow(q.RELEASE, job_id, worker_id))

    async def extend_leases(self, *, job_ids: Sequence[uuid.UUID], worker_id: str, lease_s: float) -> int:
        """Heartbeat: push the lease of jobs this worker still holds; returns how many it holds."""
        status = await self.db.execute(q.EXTEND_LEASES, list(job_ids), worker_id, lease_s)
        return int(status.rsplit(" ", 1)[1])

    # --- the sweeper and the outbox

    async def fail_exhausted(self, *, max_attempts: int, limit: int = SWEEP_LIMIT) -> list[Job]:
        """Expired leases with no attempts left end FAILED (a job never stays processing forever)."""
        return [Job.from_row(r) for r in await self.db.fetch(q.FAIL_EXHAUSTED, max_attempts, limit)]

    async def requeue_expired(self, *, max_attempts: int, limit: int = SWEEP_LIMIT) -> list[Job]:
        """Expired leases with attempts left go back to pending, unpublished, to be published again."""
        return [Job.from_row(r) for r in await self.db.fetch(q.REQUEUE_EXPIRED, max_attempts, limit)]

    async def mark_published(self, job_ids: Sequence[uuid.UUID]) -> None:
        """Record that these pending jobs were handed to Kafka (the outbox's sent mark)."""
        if job_ids:
            await self.db.execute(q.MARK_PUBLISHED, list(job_ids))

    async def republish(self, *, older_than_s: float, send: Callable[[Job], Awaitable[bool]],
                        limit: int = SWEEP_LIMIT) -> int:
        """Hand `send` each pending job never published, or published `older_than_s` ago and never claimed,
        and mark those it sent; returns how many. The jobs stay locked (SKIP LOCKED) until marked, so
        sweepers in several processes split the work instead of publishing a job twice."""
        async with _connection(self.db) as conn, conn.transaction():
            stale = [Job.from_row(r) for r in await conn.fetch(q.UNPUBLISHED, older_than_s, limit)]
            sent = [job.id for job in stale if await send(job)]
            if sent:
                await conn.execute(q.MARK_PUBLISHED, sent)
        return len(sent)

    # --- reads (never image bytes)

    async def get_job(self, *, job_id: uuid.UUID, user_id: uuid.UUID) -> Job | None:
        """The user's job, or None (another user's job looks exactly like a missing one)."""
        return _job(await self.db.fetchrow(q.GET_JOB, job_id, user_id))

    async def get_jobs_by_id(self, job_ids: Sequence[uuid.UUID]) -> list[Job]:
        """The jobs among `job_ids` that exist (any owner: the caller checks), freshly read."""
        return [Job.from_row(r) for r in await self.db.fetch(q.GET_JOBS_BY_ID, list(job_ids))]

    async def any_unfinished(self) -> bool:
        """True while any job (of any user) is pending or processing: a worker run until idle waits for it."""
        return bool(await self.db.fetchval(q.ANY_UNFINISHED))

    async def history_page(self, *, user_id: uuid.UUID, limit: int, after: tuple[datetime, uuid.UUID] | None = None,
                           job_type: str | None = None, status: str | None = None) -> list[Job]:
        """The user's jobs, newest first, strictly after the cursor position; only of `job_type` and
        `status` when given."""
        statement = q.history_page(after=after is not None, job_type=job_type is not None, status=status is not None)
        args = [a for a in (*(after or ()), job_type, status) if a is not None]
        return [Job.from_row(r) for r in await self.db.fetch(statement, user_id, limit, *args)]


@contextlib.asynccontextmanager
async def _connection(db: asyncpg.Pool | asyncpg.Connection) -> AsyncIterator[asyncpg.Connection]:
    """A connection of the pool for the block, or the one connection itself."""
    if isinstance(db, asyncpg.Connection):
        yield db
    else:
        async with db.acquire() as conn:
            yield conn


def _job(row: asyncpg.Record | None) -> Job | None:
    return None if row is None else Job.from_row(row)


def _new_job(job_id: uuid.UUID, created_at: datetime, user_id: uuid.UUID, user_plan: Plan, job_type: JobType,
             lang: str, image_count: int) -> Job:
    """A job as the submit just stored it (the table's defaults), without reading it back."""
    return Job(id=job_id, user_id=user_id, user_plan=user_plan, job_type=job_type, lang=lang, status=JobStatus.PENDING,
               images_done=0, image_count=image_count, attempts=0, error=None, created_at=created_at,
               started_at=None, completed_at=None, confirmed_at=None)
