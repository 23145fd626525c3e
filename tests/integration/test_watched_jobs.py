"""The watchers' batched re-read: one fixed statement on the plain asyncpg pool."""

from __future__ import annotations

import json
import uuid

import asyncpg

from app.jobs import JobStore, NewImage
from app.jobs.job import COLUMN_NAMES
from app.jobs.queries import GET_JOBS_BY_ID
from tests.support import store_job


def _images(count: int) -> list[NewImage]:
    return [NewImage(i, "image/jpeg", f"{i:064x}", 64, bytes([i]) * 64) for i in range(count)]


async def test_returns_exactly_the_existing_jobs_and_decodes_their_documents(
    pool: asyncpg.Pool, db: asyncpg.Connection
) -> None:
    owner, other = uuid.uuid4(), uuid.uuid4()
    pending = await store_job(db, _images(2), lang="de", user_id=owner)
    done = await store_job(db, _images(1), user_id=other)
    result = {"items": [{"name": "milk"}], "images": [], "receipt": None}
    confirmed = [{"name": "milk", "quantity": 1, "unit": "pcs", "category": "dairy"}]
    await db.execute(
        "UPDATE product_recognition_jobs SET status = 'done', images_done = 1, result = $2::jsonb,"
        " completed_at = now(), confirmed_items = $3::jsonb, confirmed_at = now() WHERE id = $1",
        done, json.dumps(result), json.dumps(confirmed),
    )
    unknown = uuid.uuid4()

    found = {job.id: job for job in await JobStore(pool).get_jobs_by_id([pending, unknown, done])}

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
    """The statement's columns are exactly Job's: images as a count, no bytes, no image list."""
    job_id = await store_job(db, _images(3))
    [row] = await pool.fetch(GET_JOBS_BY_ID, [job_id])
    assert list(row.keys()) == list(COLUMN_NAMES)
    assert not any(isinstance(value, (bytes, list)) for value in row.values())
    assert row["image_count"] == 3


async def test_no_ids_no_rows(pool: asyncpg.Pool) -> None:
    assert await JobStore(pool).get_jobs_by_id([]) == []
