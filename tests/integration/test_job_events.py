"""broadcaster on our PostgresNotifyBackend, against a real PostgreSQL: NOTIFY in, events out, resync after a loss."""

from __future__ import annotations

import asyncio
import json
import os
import uuid
from collections.abc import AsyncIterator

import asyncpg
import pytest
from broadcaster import Broadcast, Event

from app.events import LISTEN_APPLICATION_NAME, RESYNC, PostgresNotifyBackend, create_broadcast, job_channel
from app.jobs.queries import NOTIFY_CHANNEL


@pytest.fixture
async def broadcast(database_url: str) -> AsyncIterator[tuple[Broadcast, PostgresNotifyBackend]]:
    broadcast, backend = create_broadcast(database_url)
    async with broadcast:
        yield broadcast, backend


async def test_a_published_change_reaches_the_job_s_subscribers_in_the_worker_s_format(broadcast) -> None:
    hub, backend = broadcast
    job_id = uuid.uuid4()
    channel = job_channel(job_id)
    async with hub.subscribe(channel) as first, hub.subscribe(channel) as second:
        await hub.publish(job_channel(uuid.uuid4()), {"status": "processing", "images_done": 0})  # nobody watches
        await hub.publish(channel, json.dumps({"status": "processing", "images_done": 1}))
        async with asyncio.timeout(10):
            events = [await first.get(), await second.get()]
        assert events[0] == events[1]
        assert events[0].channel == channel
        assert json.loads(events[0].message) == {"status": "processing", "images_done": 1, "id": str(job_id)}
        assert backend.channel_count() == 1
    assert backend.channel_count() == 0


async def test_a_notify_from_another_session_is_routed_by_its_job_id(broadcast, database_url: str) -> None:
    hub, _ = broadcast
    job_id = uuid.uuid4()
    payload = json.dumps({"id": str(job_id), "status": "done", "images_done": 2})
    async with hub.subscribe(job_channel(job_id)) as subscriber:
        conn = await asyncpg.connect(database_url)
        try:
            await conn.execute("SELECT pg_notify($1, $2)", NOTIFY_CHANNEL, payload)
        finally:
            await conn.close()
        async with asyncio.timeout(10):
            assert await subscriber.get() == Event(job_channel(job_id), payload)


async def test_a_lost_listen_connection_is_reopened_and_every_watched_job_gets_a_resync(
    broadcast, database_url: str
) -> None:
    hub, backend = broadcast
    channels = [job_channel(uuid.uuid4()) for _ in range(3)]
    async with hub.subscribe(channels[0]) as a, hub.subscribe(channels[1]) as b, hub.subscribe(channels[2]) as c:
        conn = await asyncpg.connect(database_url)
        try:
            killed = await conn.fetchval(
                "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE application_name = $1"
                " AND datname = current_database()",
                f"{LISTEN_APPLICATION_NAME}:{os.getpid()}")
        finally:
            await conn.close()
        assert killed == 1
        async with asyncio.timeout(30):
            events = [await a.get(), await b.get(), await c.get()]
        assert events == [Event(channel, RESYNC) for channel in channels]
        assert backend.connected
        await hub.publish(channels[1], {"status": "processing", "images_done": 1})  # LISTENing again
        async with asyncio.timeout(10):
            assert (await b.get()).channel == channels[1]
