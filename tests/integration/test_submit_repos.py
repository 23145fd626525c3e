"""The submit transaction's statements: user upsert, quota count (with its pruning), job + images in one."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator

import asyncpg
import pytest

from app.db import SessionFactory, create_engine, create_session_factory
from app.repos import jobs as jobs_repo
from app.repos import quotas as quotas_repo
from app.repos import users as users_repo
from app.repos.jobs import NewImage
from app.settings import Settings


@pytest.fixture
async def sessions(settings: Settings) -> AsyncIterator[SessionFactory]:
    engine = create_engine(settings, application_name="test-submit-repos")
    try:
        yield create_session_factory(engine)
    finally:
        await engine.dispose()


async def _new_user(sessions: SessionFactory, plan: str | None = "free") -> uuid.UUID:
    async with sessions() as session, session.begin():
        user = await users_repo.upsert_user(session, user_id=uuid.uuid4(), plan=plan)
    return user.id


async def test_upsert_user_keeps_the_stored_plan_when_the_token_has_none(sessions: SessionFactory) -> None:
    user_id = uuid.uuid4()
    async with sessions() as session, session.begin():
        first = await users_repo.upsert_user(session, user_id=user_id, plan=None)
        paid = await users_repo.upsert_user(session, user_id=user_id, plan="paid")
        again = await users_repo.upsert_user(session, user_id=user_id, plan=None)
    assert (first.id, first.plan, paid.plan, again.plan) == (user_id, "free", "paid", "paid")
    assert first.created_at is not None and again.created_at == first.created_at


async def test_old_windows_are_pruned_on_the_first_submission_of_a_day(
    sessions: SessionFactory, db: asyncpg.Connection
) -> None:
    user_id = await _new_user(sessions)
    old = "INSERT INTO quota_counters VALUES ($1, 'minute', now() - interval '3 days', 7)"
    await db.execute(old, user_id)

    async def count() -> dict[str, int]:
        async with sessions() as session, session.begin():
            return {c.window: c.count for c in await quotas_repo.count_submission(session, user_id=user_id)}

    assert await count() == {"minute": 1, "day": 1}
    assert await db.fetchval("SELECT count(*) FROM quota_counters WHERE user_id = $1", user_id) == 2
    await db.execute(old, user_id)  # the day's row exists now: later submissions leave old rows alone
    assert await count() == {"minute": 2, "day": 2}
    assert await db.fetchval("SELECT count(*) FROM quota_counters WHERE user_id = $1", user_id) == 3


async def test_insert_job_stores_every_image_once_and_a_reused_key_stores_nothing(
    sessions: SessionFactory, db: asyncpg.Connection
) -> None:
    user_id = await _new_user(sessions)
    images = [NewImage(index=i, mime="image/png", sha256=f"{i:064x}", size=3 + i, data=b"\x89P" + bytes(1 + i))
              for i in range(3)]
    async with sessions() as session, session.begin():
        job = await jobs_repo.insert_job(session, user_id=user_id, user_plan="free", job_type="products",
                                         lang="de", images=images, idempotency_key="k-1")
    assert job is not None and job.id is not None and job.created_at is not None
    assert (job.status, job.images_done, job.attempts, job.lang, job.images) == (
        "pending", 0, 0, "de", [i.meta() for i in images])
    async with sessions() as session, session.begin():
        again = await jobs_repo.insert_job(session, user_id=user_id, user_plan="free", job_type="products",
                                           lang="de", images=images[:1], idempotency_key="k-1")
        found = await jobs_repo.get_by_idempotency_key(session, user_id=user_id, key="k-1")
    assert again is None
    assert found is not None and found.id == job.id and found.created_at == job.created_at
    rows = await db.fetch("SELECT index, mime, sha256, size, data FROM product_recognition_job_images"
                          " WHERE job_id = $1 ORDER BY index", job.id)
    assert [tuple(r) for r in rows] == [(i.index, i.mime, i.sha256, i.size, i.data) for i in images]
    assert await db.fetchval("SELECT count(*) FROM product_recognition_jobs WHERE user_id = $1", user_id) == 1


async def test_mark_published_marks_only_pending_jobs(sessions: SessionFactory, db: asyncpg.Connection) -> None:
    user_id = await _new_user(sessions)
    image = [NewImage(index=0, mime="image/png", sha256="0" * 64, size=2, data=b"\x89P")]
    ids = []
    async with sessions() as session, session.begin():
        for _ in range(3):
            job = await jobs_repo.insert_job(session, user_id=user_id, user_plan="free", job_type="receipt",
                                             lang="en", images=image)
            assert job is not None and job.id is not None
            ids.append(job.id)
    await db.execute("UPDATE product_recognition_jobs SET status = 'processing' WHERE id = $1", ids[2])
    async with sessions() as session, session.begin():
        await jobs_repo.mark_published(session, job_ids=ids)
    rows = await db.fetch("SELECT id, published_at IS NOT NULL AS marked FROM product_recognition_jobs"
                          " WHERE user_id = $1", user_id)
    assert {r["id"]: r["marked"] for r in rows} == {ids[0]: True, ids[1]: True, ids[2]: False}
