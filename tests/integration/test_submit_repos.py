"""The submit's one statement (foodai_submit_job): user upsert, idempotency, quota count and pruning,
job + images; and the outbox's published mark."""

from __future__ import annotations

import json
import uuid

import asyncpg
import pytest

from app.jobs import JobStore, NewImage, OverQuota
from app.jobs.store import Submission
from tests.support import store_job

LIMITS = {"free": {"minute": 2, "day": 3}, "paid": {"minute": 5, "day": 50}}
IMAGE = [NewImage(index=0, mime="image/png", sha256="0" * 64, size=2, data=b"\x89P")]


async def _submit(db: asyncpg.Connection, user_id: uuid.UUID, *, plan: str | None = "free", key: str | None = None,
                  images: list[NewImage] = IMAGE) -> Submission:
    return await JobStore(db).submit(user_id=user_id, plan=plan, job_type="products", lang="de", images=images,
                                    idempotency_key=key, limits=LIMITS)


async def _counts(db: asyncpg.Connection, user_id: uuid.UUID) -> dict[str, int]:
    rows = await db.fetch("SELECT window_kind, count FROM quota_counters WHERE user_id = $1"
                          " AND window_start >= now() - interval '1 day'", user_id)
    return {r["window_kind"]: r["count"] for r in rows}


async def test_the_token_plan_overwrites_the_stored_one_and_no_plan_keeps_it(db: asyncpg.Connection) -> None:
    user_id = uuid.uuid4()
    plans = [(await _submit(db, user_id, plan=p)).job.user_plan for p in (None, "paid", None)]
    assert plans == ["free", "paid", "paid"]
    assert await db.fetchval("SELECT plan FROM users WHERE id = $1", user_id) == "paid"
    stored = await db.fetch("SELECT user_plan FROM product_recognition_jobs WHERE user_id = $1 ORDER BY id", user_id)
    assert [r["user_plan"] for r in stored] == plans


async def test_a_job_stores_every_image_once_and_a_reused_key_stores_and_counts_nothing(
    db: asyncpg.Connection
) -> None:
    user_id = uuid.uuid4()
    images = [NewImage(index=i, mime="image/png", sha256=f"{i:064x}", size=3 + i, data=b"\x89P" + bytes(1 + i))
              for i in range(3)]
    first = await _submit(db, user_id, key="k-1", images=images)
    again = await _submit(db, user_id, key="k-1", images=images[:1])
    assert (first.existing, again.existing) == (False, True)
    assert (again.job.id, again.job.created_at) == (first.job.id, first.job.created_at)
    job = await db.fetchrow("SELECT status, images_done, attempts, lang, job_type, images::text, published_at"
                            " FROM product_recognition_jobs WHERE id = $1", first.job.id)
    assert tuple(job)[:5] == ("pending", 0, 0, "de", "products") and job["published_at"] is None
    assert json.loads(job["images"]) == [i.meta() for i in images]
    rows = await db.fetch("SELECT index, mime, sha256, size, data FROM product_recognition_job_images"
                          " WHERE job_id = $1 ORDER BY index", first.job.id)
    assert [tuple(r) for r in rows] == [(i.index, i.mime, i.sha256, i.size, i.data) for i in images]
    assert await db.fetchval("SELECT count(*) FROM product_recognition_jobs WHERE user_id = $1", user_id) == 1
    assert await _counts(db, user_id) == {"minute": 1, "day": 1}


async def test_a_full_window_refuses_the_submit_and_takes_its_count_and_user_back(db: asyncpg.Connection) -> None:
    user_id = uuid.uuid4()
    await _submit(db, user_id)
    await _submit(db, user_id)
    with pytest.raises(OverQuota) as refused:
        await _submit(db, user_id)
    over = refused.value
    assert (over.window, over.limit, over.plan) == ("minute", 2, "free")
    assert 1 <= over.seconds_left <= 60
    assert await _counts(db, user_id) == {"minute": 2, "day": 2}
    assert await db.fetchval("SELECT count(*) FROM product_recognition_jobs WHERE user_id = $1", user_id) == 2


async def test_a_refused_first_submit_leaves_no_user_row(db: asyncpg.Connection) -> None:
    user_id = uuid.uuid4()
    with pytest.raises(OverQuota):
        await JobStore(db).submit(user_id=user_id, plan="free", job_type="receipt", lang="en", images=IMAGE,
                                 idempotency_key=None, limits={"free": {"minute": 0, "day": 10}})
    assert await db.fetchval("SELECT count(*) FROM users WHERE id = $1", user_id) == 0
    assert await db.fetchval("SELECT count(*) FROM quota_counters WHERE user_id = $1", user_id) == 0


async def test_old_windows_are_pruned_on_the_first_submission_of_a_day(db: asyncpg.Connection) -> None:
    user_id = uuid.uuid4()
    await db.execute("INSERT INTO users (id) VALUES ($1)", user_id)
    old = "INSERT INTO quota_counters VALUES ($1, 'minute', now() - interval '3 days', 7)"
    await db.execute(old, user_id)
    await _submit(db, user_id)
    assert await db.fetchval("SELECT count(*) FROM quota_counters WHERE user_id = $1", user_id) == 2
    await db.execute(old, user_id)  # the day's row exists now: later submissions leave old rows alone
    await _submit(db, user_id)
    assert await db.fetchval("SELECT count(*) FROM quota_counters WHERE user_id = $1", user_id) == 3
    assert await _counts(db, user_id) == {"minute": 2, "day": 2}


async def test_no_limits_count_nothing(db: asyncpg.Connection) -> None:
    job_id = await store_job(db, IMAGE)
    user_id = await db.fetchval("SELECT user_id FROM product_recognition_jobs WHERE id = $1", job_id)
    assert await db.fetchval("SELECT count(*) FROM quota_counters WHERE user_id = $1", user_id) == 0


async def test_mark_published_marks_only_pending_jobs(db: asyncpg.Connection) -> None:
    user_id = uuid.uuid4()
    ids = [await store_job(db, IMAGE, user_id=user_id) for _ in range(3)]
    await db.execute("UPDATE product_recognition_jobs SET status = 'processing' WHERE id = $1", ids[2])
    await JobStore(db).mark_published(ids)
    rows = await db.fetch("SELECT id, published_at IS NOT NULL AS marked FROM product_recognition_jobs"
                          " WHERE user_id = $1", user_id)
    assert {r["id"]: r["marked"] for r in rows} == {ids[0]: True, ids[1]: True, ids[2]: False}
