"""Recognition jobs through the ORM: read, page, confirm, and the sweeper's and outbox's guarded changes.

(The worker's own transitions, claim to finish, are single statements in app.repos.transitions.)
Every transition is a conditional UPDATE (status only moves forward, and only the worker
holding the lease may move a processing job), so a late or duplicate worker is a no-op.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, cast

from sqlalchemy import and_, func, or_, text, tuple_, update
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from app.models import JobStatus, ProductRecognitionJob

Job = ProductRecognitionJob
NOTIFY_CHANNEL = "product_job_update"


@dataclass(frozen=True, slots=True)
class NewImage:
    index: int
    mime: str
    sha256: str
    size: int
    data: bytes

    def meta(self) -> dict[str, Any]:
        return {"index": self.index, "mime": self.mime, "size": self.size, "sha256": self.sha256}


async def get_job(session: AsyncSession, *, job_id: uuid.UUID, user_id: uuid.UUID | None = None) -> Job | None:
    """One job; with `user_id`, only when it belongs to that user. Never loads image bytes."""
    stmt = select(Job).where(Job.id == job_id).execution_options(populate_existing=True)
    if user_id is not None:
        stmt = stmt.where(Job.user_id == user_id)
    return (await session.exec(stmt)).one_or_none()


async def list_recent(session: AsyncSession, *, user_id: uuid.UUID, limit: int) -> list[Job]:
    """The user's newest jobs first."""
    stmt = (
        select(Job).where(Job.user_id == user_id)
        .order_by(col(Job.created_at).desc(), col(Job.id).desc()).limit(limit)
    )
    return list(await session.exec(stmt))


async def history_page(
    session: AsyncSession,
    *,
    user_id: uuid.UUID,
    limit: int,
    after: tuple[datetime, uuid.UUID] | None,
    job_type: str | None,
    status: str | None,
) -> list[Job]:
    """Keyset page in (created_at, id) descending order, strictly after the cursor position."""
    stmt = select(Job).where(Job.user_id == user_id)
    if after is not None:
        stmt = stmt.where(tuple_(col(Job.created_at), col(Job.id)) < tuple_(*after))
    if job_type is not None:
        stmt = stmt.where(Job.job_type == job_type)
    if status is not None:
        stmt = stmt.where(Job.status == status)
    stmt = stmt.order_by(col(Job.created_at).desc(), col(Job.id).desc()).limit(limit)
    return list(await session.exec(stmt))


_MARK_PUBLISHED = text("""
    UPDATE product_recognition_jobs SET published_at = now()
    WHERE id = ANY(CAST(:ids AS uuid[])) AND status = 'pending'
""")


async def mark_published(session: AsyncSession, *, job_ids: Sequence[uuid.UUID]) -> None:
    """Record that these pending jobs were handed to Kafka (the outbox's sent mark).

    One statement text for any number of ids (an IN list would be a new prepared
    statement for every batch size).
    """
    conn = await session.connection()
    await conn.execute(_MARK_PUBLISHED, {"ids": list(job_ids)})


async def _returning(session: AsyncSession, stmt: Any) -> list[Job]:
    """Run an INSERT or UPDATE ... RETURNING the job entity; rows come back as fresh Job objects."""
    result = await session.exec(stmt, execution_options={"populate_existing": True})
    return cast(list[Job], list(result.scalars()))


async def _guarded_update(session: AsyncSession, where: Any, **values: Any) -> Job | None:
    rows = await _returning(session, update(Job).where(where).values(**values).returning(Job))
    return rows[0] if rows else None


async def fail_exhausted(session: AsyncSession, *, max_attempts: int, limit: int = 500) -> list[Job]:
    """Expired leases with no attempts left end FAILED (a job never stays processing forever)."""
    expired = and_(
        col(Job.status) == JobStatus.PROCESSING.value,
        col(Job.lease_expires_at) < func.now(),
        col(Job.attempts) >= max_attempts,
    )
    ids = select(col(Job.id)).where(expired).limit(limit).with_for_update(skip_locked=True)
    stmt = (
        update(Job).where(col(Job.id).in_(ids.scalar_subquery()))
        .values(status=JobStatus.FAILED.value, completed_at=func.now(), lease_expires_at=None,
                error="the job did not finish after its last attempt (worker lost or timed out)")
        .returning(Job)
    )
    return await _returning(session, stmt)


async def requeue_expired(session: AsyncSession, *, max_attempts: int, limit: int = 500) -> list[Job]:
    """Expired leases with attempts left go back to pending, to be published again."""
    expired = and_(
        col(Job.status) == JobStatus.PROCESSING.value,
        col(Job.lease_expires_at) < func.now(),
        col(Job.attempts) < max_attempts,
    )
    ids = select(col(Job.id)).where(expired).limit(limit).with_for_update(skip_locked=True)
    stmt = (
        update(Job).where(col(Job.id).in_(ids.scalar_subquery()))
        .values(status=JobStatus.PENDING.value, worker_id=None, lease_expires_at=None,
                published_at=None, images_done=0)
        .returning(Job)
    )
    return await _returning(session, stmt)


async def unpublished(session: AsyncSession, *, older_than_s: float, limit: int = 500) -> list[Job]:
    """Pending jobs never handed to Kafka, or handed over long ago and never claimed.

    Rows are locked (SKIP LOCKED) until the caller's transaction ends, so sweepers in
    several processes split the work instead of publishing the same job twice.
    """
    cutoff = func.now() - timedelta(seconds=older_than_s)
    stmt = (
        select(Job)
        .where(
            col(Job.status) == JobStatus.PENDING.value,
            col(Job.created_at) < cutoff,
            or_(col(Job.published_at).is_(None), col(Job.published_at) < cutoff),
        )
        .order_by(col(Job.created_at))
        .limit(limit)
        .with_for_update(skip_locked=True)
    )
    return list(await session.exec(stmt))


async def set_confirmed(session: AsyncSession, *, job_id: uuid.UUID, items: list[dict[str, Any]]) -> Job:
    """Store the user's reviewed items on the job (a later confirm replaces an earlier one)."""
    job = await _guarded_update(session, col(Job.id) == job_id, confirmed_items=items, confirmed_at=func.now())
    assert job is not None
    return job


async def notify(session: AsyncSession, job: Job) -> None:
    """NOTIFY listeners of a change, inside the caller's transaction (sent only if it commits)."""
    payload = json.dumps({"id": str(job.id), "status": job.status, "images_done": job.images_done})
    conn = await session.connection()
    await conn.execute(text("SELECT pg_notify(:channel, :payload)"), {"channel": NOTIFY_CHANNEL, "payload": payload})
