"""The watchers' batched re-read: one fixed statement on the plain asyncpg pool."""

from __future__ import annotations

import json
import uuid
from collections.abc import AsyncIterator

import asyncpg
import pytest

from app.db import create_pool
from app.repos import watched_jobs
from app.repos.watched_jobs import WatchedJob
from app.settings import Settings


@pytest.fixture
async def pool(settings: Settings) -> AsyncIterator[asyncpg.Pool]:
    pool = await create_pool(settings, application_name="test-watched-jobs")
    try:
        yield pool
    finally:
        await pool.close()


async def store_job(db: asyncpg.Connection, image_count: int, *, lang: str = "en",
                    user_id: uuid.UUID | None = None) -> uuid.UUID:
    """A pending job with its image rows (plain SQL: independent of the submit path's repos)."""
    user_id = user_id or uuid.uuid4()
    await db.execute("INSERT INTO users (id) VALUES ($1) ON CONFLICT DO NOTHING", user_id)
    images = [{"index": i, "mime": "image/jpeg", "size": 64, "sha256": f"{i:064x}"} for i in range(image_count)]
    job_id: uuid.UUID = await db.fetchval(
        "INSERT INTO product_recognition_jobs (user_id, user_plan, job_type, images, lang)"
        " VALUES ($1, 'free', 'receipt', $2::jsonb, $3) RETURNING id", user_id, json.dumps(images), lang)
    await db.executemany(
        "INSERT INTO product_recognition_job_images (job_id, index, mime, sha256, size, data)"
        " VALUES ($1, $2, 'image/jpeg', $3, 64, $4)",
        [(job_id, i, f"{i:064x}", bytes([i]) * 64) for i in range(image_count)])
    return job_id


async def test_returns_exactly_the_existing_jobs_and_decodes_their_documents(
    pool: asyncpg.Pool, db: asyncpg.Connection
) -> None:
    owner, other = uuid.uuid4(), uuid.uuid4()
    pending = await store_job(db, 2, lang="de", user_id=owner)
    done = await store_job(db, 1, user_id=other)
    result = {"items": [{"name": "milk"}], "images": [], "receipt": None}
    confirmed = [{"name": "milk", "quantity": 1, "unit": "pcs", "category": "dairy"}]
    await db.execute(
        "UPDATE product_recognition_jobs SET status = 'done', images_done = 1, result = $2::jsonb,"
        " completed_at = now(), confirmed_items = $3::jsonb, confirmed_at = now() WHERE id = $1",
        done, json.dumps(result), json.dumps(confirmed),
    )
    unknown = uuid.uuid4()

    found = {job.id: job for job in await watched_jobs.get_jobs_by_id(pool, job_ids=[pending, unknown, done])}

    assert set(found) == {pending, done}  # the unknown id is simply absent, any owner is returned
    first, second = found[pending], found[done]
    assert (first.user_id, first.status, first.lang, first.image_count, first.images_done) == (
        owner, "pending", "de", 2, 0)
    assert (first.result, first.error, first.confirmed_items, first.confirmed_at, first.completed_at) == (
        None, None, None, None, None)
    assert (second.user_id, second.status, second.image_count, second.images_done) == (other, "done", 1, 1)
    assert (second.result, second.confirmed_items) == (result, confirmed)
    assert second.completed_at is not None and second.confirmed_at is not None


async def test_reads_only_what_a_watcher_shows_never_image_bytes(pool: asyncpg.Pool, db: asyncpg.Connection) -> None:
    """The statement's columns are exactly WatchedJob's: images as a count, no bytes, no image list."""
    job_id = await store_job(db, 3)
    [row] = await pool.fetch(watched_jobs.GET_JOBS_BY_ID, [job_id])
    assert list(row.keys()) == list(WatchedJob.__slots__)
    assert not any(isinstance(value, (bytes, list)) for value in row.values())
    assert row["image_count"] == 3


async def test_no_ids_no_rows(pool: asyncpg.Pool) -> None:
    assert await watched_jobs.get_jobs_by_id(pool, job_ids=[]) == []
