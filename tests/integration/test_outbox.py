"""The outbox relay: sends at once, marks what the broker acknowledged later, and leaves the rest to the sweeper."""

from __future__ import annotations

import uuid

import asyncpg

from app.db import create_pool
from app.jobs import JobStore, NewImage
from app.queue.messages import JobMessage
from app.queue.producer import JobPublisher
from app.services.outbox import OutboxRelay
from app.settings import Settings
from tests.support import store_job

IMAGE = [NewImage(index=0, mime="image/png", sha256="0" * 64, size=2, data=b"\x89P")]


async def _relay_jobs(settings: Settings, db: asyncpg.Connection, *, connected: bool) -> dict[bool, int]:
    ids = [await store_job(db, IMAGE) for _ in range(5)]
    run = uuid.uuid4().hex[:8]  # topics of its own: no later test's worker consumes these messages
    settings = settings.model_copy(update={"kafka_topic_paid": f"test.outbox.{run}.paid",
                                           "kafka_topic_free": f"test.outbox.{run}.free"})
    pool = await create_pool(settings, application_name="test-outbox")
    publisher = JobPublisher(settings)
    if connected:
        await publisher.start()
    relay = OutboxRelay(JobStore(pool), publisher, mark_every_s=3600)  # only stop() marks
    try:
        relay.start()
        for job_id in ids:
            relay.submit(JobMessage(job_id, "receipt", "free"))
        await relay.stop()
    finally:
        await publisher.stop()
        await pool.close()
    rows = await db.fetch("SELECT published_at IS NOT NULL AS marked, count(*) FROM product_recognition_jobs"
                          " WHERE id = ANY($1::uuid[]) GROUP BY 1", ids)
    return {r["marked"]: r["count"] for r in rows}


async def test_stop_sends_what_is_queued_and_marks_all_the_broker_acknowledged(
    settings: Settings, db: asyncpg.Connection
) -> None:
    assert await _relay_jobs(settings, db, connected=True) == {True: 5}


async def test_jobs_the_broker_never_acknowledged_stay_unmarked_for_the_sweeper(
    settings: Settings, db: asyncpg.Connection
) -> None:
    assert await _relay_jobs(settings, db, connected=False) == {False: 5}
