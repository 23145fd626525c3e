"""Subscriptions release everything on disconnect, and a slow reader costs bounded memory.

The API runs in this process (uvicorn on a real socket) so the test can look inside it:
open subscriptions, LISTEN channels and asyncio tasks.
"""

from __future__ import annotations

import asyncio
import json
import os
import uuid
from collections.abc import AsyncIterator
from typing import Any

import pytest
import uvicorn
import websockets

from app.embedded import free_port
from app.events import CoalescingBroadcast, JobEventsBackend, job_channel
from app.main import create_app
from app.settings import Settings
from tests.conftest import make_settings
from tests.support import SUBMIT_RECEIPT, WATCH_JOB, Api, b64, new_user, scripted_image

CYCLES = int(os.environ.get("FOODAI_WS_CYCLES", "10000"))


@pytest.fixture
async def inprocess_api(database_url: str, kafka_bootstrap: str) -> AsyncIterator[tuple[str, Settings, Any]]:
    settings = make_settings(database_url, kafka_bootstrap)
    app = create_app(settings)
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, ws="websockets-sansio",
                                           log_level="warning", lifespan="on"))
    task = asyncio.create_task(server.serve())
    async with asyncio.timeout(30):
        while not server.started:
            await asyncio.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{port}", settings, app
    finally:
        server.should_exit = True
        await asyncio.wait_for(task, 30)


def _resources(app: Any) -> tuple[CoalescingBroadcast, JobEventsBackend]:
    resources = app.state.resources
    assert resources is not None
    return resources.broadcast, resources.events


async def _watch_first_frame_then_leave(url: str, token: str, job_id: str) -> None:
    async with websockets.connect(url, subprotocols=["graphql-transport-ws"]) as sock:  # type: ignore[list-item]
        await sock.send(json.dumps({"type": "connection_init", "payload": {"Authorization": f"Bearer {token}"}}))
        assert json.loads(await sock.recv())["type"] == "connection_ack"
        await sock.send(json.dumps({"id": "1", "type": "subscribe",
                                    "payload": {"query": WATCH_JOB, "variables": {"id": job_id}}}))
        assert json.loads(await sock.recv())["type"] == "next"


@pytest.mark.slow
async def test_subscriptions_are_released_on_disconnect_after_many_cycles(inprocess_api) -> None:
    base, settings, app = inprocess_api
    api = Api(base)
    user = new_user(settings)
    job = (await api.gql(SUBMIT_RECEIPT, {"images": [{"base64": b64(scripted_image("A*1*pcs*1"))}]}, user=user))[
        "data"]["submitReceipt"]  # no worker runs here: it stays PENDING, so every watcher stays open
    await api.client.aclose()
    broadcast, events = _resources(app)
    ws_url = base.replace("http", "ws") + "/graphql"
    await _watch_first_frame_then_leave(ws_url, user.token, job["id"])  # warm-up
    async with asyncio.timeout(10):
        while broadcast.subscriber_count():
            await asyncio.sleep(0.01)
    baseline_tasks = len(asyncio.all_tasks())

    semaphore = asyncio.Semaphore(50)

    async def cycle() -> None:
        async with semaphore:
            await _watch_first_frame_then_leave(ws_url, user.token, job["id"])

    await asyncio.gather(*(cycle() for _ in range(CYCLES)))
    async with asyncio.timeout(30):  # the server notices each close and unwinds its generator
        while broadcast.subscriber_count() or len(asyncio.all_tasks()) > baseline_tasks:
            await asyncio.sleep(0.05)
    assert broadcast.subscriber_count() == 0
    assert events.channel_count() == 0


async def test_a_reader_that_never_reads_holds_at_most_one_pending_event(inprocess_api) -> None:
    _, _, app = inprocess_api
    broadcast, events = _resources(app)
    channel = job_channel(uuid.uuid4())
    async with broadcast.subscribe(channel) as subscriber:
        payload = json.dumps({"id": channel.split(":", 1)[1], "status": "processing", "images_done": 0})
        for _ in range(10_000):
            events._on_notify(None, 0, "product_job_update", payload)
        async with asyncio.timeout(10):
            while events.queued():
                await asyncio.sleep(0.01)
        assert subscriber._queue.qsize() == 1
