"""The job store's single-statement transitions: guarded updates whose NOTIFY goes out with them."""

from __future__ import annotations

import asyncio
import json
import uuid

import asyncpg

from app.domain import JobStatus
from app.jobs import JobStore, NewImage
from app.jobs.queries import NOTIFY_CHANNEL
from app.recognition.enrich import Alias
from app.repos.users import upsert_aliases
from app.settings import Settings
from tests.support import store_job


async def _new_job(settings: Settings, images: list[NewImage], aliases: dict[str, Alias]) -> uuid.UUID:
    user_id = uuid.uuid4()
    conn = await asyncpg.connect(settings.database_url)
    try:
        job_id = await store_job(conn, images, lang="de", user_id=user_id)
        await upsert_aliases(conn, user_id=user_id, aliases=aliases.items())
    finally:
        await conn.close()
    return job_id


async def _events(db: asyncpg.Connection, job_id: uuid.UUID) -> asyncio.Queue[dict[str, object]]:
    queue: asyncio.Queue[dict[str, object]] = asyncio.Queue()

    def on_notify(_conn: object, _pid: int, _channel: str, payload: str) -> None:
        event = json.loads(payload)
        if event["id"] == str(job_id):
            queue.put_nowait(event)

    await db.add_listener(NOTIFY_CHANNEL, on_notify)
    return queue


async def test_claim_returns_the_images_in_order_and_the_owners_aliases(
    settings: Settings, pool: asyncpg.Pool, db: asyncpg.Connection
) -> None:
    images = [NewImage(1, "image/png", "1" * 64, 3, b"two"), NewImage(0, "image/jpeg", "0" * 64, 3, b"one")]
    aliases = {"milch": Alias(name="Milk", category="dairy", unit="l"),
               "brt": Alias(name="Bread", category="bakery", unit="pcs")}
    job_id = await _new_job(settings, images, aliases)
    events = await _events(db, job_id)
    async with pool.acquire() as conn:
        jobs = JobStore(conn)
        claimed = await jobs.claim(job_id=job_id, job_type="receipt", worker_id="w1", lease_s=30)
        assert await jobs.claim(job_id=job_id, job_type="receipt", worker_id="w2", lease_s=30) is None
    assert claimed is not None
    assert [(i.index, i.mime, i.data) for i in claimed.images] == [(0, "image/jpeg", b"one"), (1, "image/png", b"two")]
    assert claimed.aliases == aliases
    assert (claimed.job.status, claimed.job.attempts, claimed.job.lang, claimed.job.images_done) == (
        "processing", 1, "de", 0)
    assert await asyncio.wait_for(events.get(), 10) == {"id": str(job_id), "status": "processing", "images_done": 0}


async def test_claim_of_the_wrong_type_changes_nothing(settings: Settings, pool: asyncpg.Pool) -> None:
    job_id = await _new_job(settings, [NewImage(0, "image/png", "0" * 64, 1, b"x")], {})
    async with pool.acquire() as conn:
        jobs = JobStore(conn)
        assert await jobs.claim(job_id=job_id, job_type="products", worker_id="w", lease_s=30) is None
        assert await conn.fetchval("SELECT status FROM product_recognition_jobs WHERE id = $1", job_id) == "pending"


async def test_only_the_holder_moves_the_job_and_each_change_notifies_once(
    settings: Settings, pool: asyncpg.Pool, db: asyncpg.Connection
) -> None:
    job_id = await _new_job(settings, [NewImage(i, "image/png", "0" * 64, 1, b"x") for i in range(2)], {})
    events = await _events(db, job_id)
    async with pool.acquire() as conn:
        jobs = JobStore(conn)
        assert await jobs.claim(job_id=job_id, job_type="receipt", worker_id="w1", lease_s=30)
        assert await jobs.record_progress(job_id=job_id, worker_id="w2", images_done=1) is None
        progress = await jobs.record_progress(job_id=job_id, worker_id="w1", images_done=1)
        assert await jobs.finish(job_id=job_id, worker_id="w2", status=JobStatus.DONE, result={},
                                 error=None, images_done=2) is None
        done = await jobs.finish(job_id=job_id, worker_id="w1", status=JobStatus.DONE,
                                 result={"items": []}, error=None, images_done=2)
        assert await jobs.release(job_id=job_id, worker_id="w1") is None
        row = await conn.fetchrow("SELECT result, lease_expires_at FROM product_recognition_jobs WHERE id = $1", job_id)
    assert progress is not None and progress.images_done == 1
    assert done is not None and (done.status, done.images_done) == ("done", 2)
    assert done.completed_at is not None
    assert json.loads(row["result"]) == {"items": []} and row["lease_expires_at"] is None
    received = [await asyncio.wait_for(events.get(), 10) for _ in range(3)]
    assert [(e["status"], e["images_done"]) for e in received] == [("processing", 0), ("processing", 1), ("done", 2)]
    assert events.empty()


async def test_release_hands_the_job_back_unpublished(
    settings: Settings, pool: asyncpg.Pool, db: asyncpg.Connection
) -> None:
    job_id = await _new_job(settings, [NewImage(0, "image/png", "0" * 64, 1, b"x")], {})
    events = await _events(db, job_id)
    async with pool.acquire() as conn:
        jobs = JobStore(conn)
        await conn.execute("UPDATE product_recognition_jobs SET published_at = now() WHERE id = $1", job_id)
        assert await jobs.claim(job_id=job_id, job_type="receipt", worker_id="w1", lease_s=30)
        assert await jobs.extend_leases(job_ids=[job_id, uuid.uuid4()], worker_id="w1", lease_s=60) == 1
        assert await jobs.extend_leases(job_ids=[job_id], worker_id="w2", lease_s=60) == 0
        released = await jobs.release(job_id=job_id, worker_id="w1")
        row = await conn.fetchrow(
            "SELECT worker_id, published_at, lease_expires_at, attempts FROM product_recognition_jobs WHERE id = $1",
            job_id)
    assert released is not None and (released.status, released.attempts) == ("pending", 1)
    assert tuple(row) == (None, None, None, 1)
    received = [await asyncio.wait_for(events.get(), 10) for _ in range(2)]
    assert [e["status"] for e in received] == ["processing", "pending"]
