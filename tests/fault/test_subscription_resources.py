"""Subscriptions release everything on disconnect, and a slow reader costs bounded memory.

The API runs in this process (uvicorn on a real socket) so the test can look inside it:
open subscriptions, LISTEN channels and asyncio tasks.
"""

from __future__ import annotations

import asyncio
import json
import os
import time
import uuid
from collections import Counter
from collections.abc import AsyncIterator
from typing import Any

import asyncpg
import pytest
import uvicorn
import websockets
from broadcaster import Broadcast, Event

from app.auth import Identity
from app.embedded import free_port
from app.errors import NotFound
from app.events import PostgresNotifyBackend, job_channel
from app.main import create_app, websocket_server_options
from app.observability.metrics import REGISTRY
from app.services.watch import read_watched_job
from app.settings import Settings
from tests.conftest import make_settings
from tests.support import SUBMIT_RECEIPT, WATCH_JOB, Api, b64, new_user, scripted_image

CYCLES = int(os.environ.get("FOODAI_WS_CYCLES", "10000"))


@pytest.fixture
async def inprocess_api(database_url: str, kafka_bootstrap: str) -> AsyncIterator[tuple[str, Settings, Any]]:
    settings = make_settings(database_url, kafka_bootstrap)
    app = create_app(settings)
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="on",
                                           **websocket_server_options()))
    task = asyncio.create_task(server.serve())
    async with asyncio.timeout(30):
        while not server.started:
            await asyncio.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{port}", settings, app
    finally:
        server.should_exit = True
        await asyncio.wait_for(task, 30)


def _resources(app: Any) -> tuple[Broadcast, PostgresNotifyBackend]:
    resources = app.state.resources
    assert resources is not None
    return resources.broadcast, resources.events


def _subscriptions_open() -> float:
    """Open productJob subscriptions in this process (the API's gauge)."""
    value = REGISTRY.get_sample_value("foodai_subscriptions_open")
    assert value is not None
    return value


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
    _, backend = _resources(app)
    ws_url = base.replace("http", "ws") + "/graphql"
    await _watch_first_frame_then_leave(ws_url, user.token, job["id"])  # warm-up
    async with asyncio.timeout(10):
        while _subscriptions_open():
            await asyncio.sleep(0.01)
    baseline_tasks = len(asyncio.all_tasks())

    semaphore = asyncio.Semaphore(50)

    async def cycle() -> None:
        async with semaphore:
            await _watch_first_frame_then_leave(ws_url, user.token, job["id"])

    await asyncio.gather(*(cycle() for _ in range(CYCLES)))
    async with asyncio.timeout(30):  # the server notices each close and unwinds its generator
        while _subscriptions_open() or len(asyncio.all_tasks()) > baseline_tasks:
            await asyncio.sleep(0.05)
    assert _subscriptions_open() == 0
    assert backend.channel_count() == 0  # no channel left: broadcaster holds no subscriber queue either


async def test_a_reader_that_never_reads_holds_at_most_one_pending_event(inprocess_api) -> None:
    _, _, app = inprocess_api
    broadcast, backend = _resources(app)
    channel = job_channel(uuid.uuid4())
    async with broadcast.subscribe(channel) as subscriber:
        payload = json.dumps({"id": channel.split(":", 1)[1], "status": "processing", "images_done": 0})
        for _ in range(10_000):
            backend.listener._on_notify(None, 0, "product_job_update", payload)
        assert backend.pending_count() == 1  # 10,000 events: one pending, no backlog anywhere
        assert await subscriber.get() == Event(channel, payload)
        later = asyncio.create_task(subscriber.get())
        await asyncio.sleep(0)  # one turn: broadcaster's listener has nothing more to hand over
        assert not later.done() and backend.pending_count() == 0
        later.cancel()
        await asyncio.gather(later, return_exceptions=True)


async def _open_watch(url: str, token: str, job_id: str) -> Any:
    sock = await websockets.connect(url, subprotocols=["graphql-transport-ws"],  # type: ignore[list-item]
                                    ping_interval=None)  # the client side runs no task here
    await sock.send(json.dumps({"type": "connection_init", "payload": {"Authorization": f"Bearer {token}"}}))
    assert json.loads(await sock.recv())["type"] == "connection_ack"
    await sock.send(json.dumps({"id": "1", "type": "subscribe",
                                "payload": {"query": WATCH_JOB, "variables": {"id": job_id}}}))
    assert json.loads(await sock.recv())["payload"]["data"]["productJob"]["status"] == "PENDING"
    return sock


async def _unannounced_pending_job(settings: Settings, user_id: uuid.UUID) -> str:
    """A pending job stored without a submit: no Kafka record and no NOTIFY, so no worker of the
    session (sharing this database) ever claims it and its watchers stay idle."""
    conn = await asyncpg.connect(settings.database_url)
    try:
        await conn.execute("INSERT INTO users (id) VALUES ($1) ON CONFLICT DO NOTHING", user_id)
        job_id = await conn.fetchval(
            "INSERT INTO product_recognition_jobs (user_id, user_plan, job_type, images) VALUES ($1, 'free', 'receipt',"
            " '[{\"index\": 0, \"mime\": \"image/png\", \"size\": 1, \"sha256\": \"0\"}]') RETURNING id", user_id)
    finally:
        await conn.close()
    return str(job_id)


def _task_kinds() -> Counter[str]:
    return Counter(task.get_coro().__qualname__ for task in asyncio.all_tasks())  # type: ignore[union-attr]


async def test_an_idle_subscription_holds_only_its_connection_and_operation_tasks(inprocess_api) -> None:
    """No sleeping task per socket for the token's expiry or keep-alive, none per watch for rechecks."""
    base, settings, _ = inprocess_api
    user = new_user(settings)
    job_id = await _unannounced_pending_job(settings, user.id)
    url = base.replace("http", "ws") + "/graphql"
    await (await _open_watch(url, user.token, job_id)).close()  # warm-up
    before = _task_kinds()
    sockets = [await _open_watch(url, user.token, job_id) for _ in range(40)]
    try:
        grown = {kind: n - before[kind] for kind, n in _task_kinds().items() if n - before[kind] >= 40}
        assert grown == {"WebSocketsSansIOProtocol.run_asgi": 40, "BaseGraphQLTransportWSHandler.run_operation": 40}
    finally:
        for sock in sockets:
            await sock.close()


async def test_watchers_woken_together_share_one_statement(inprocess_api, monkeypatch: pytest.MonkeyPatch) -> None:
    """The re-reads of 200 watchers woken in one tick are one SELECT, each seeing only its owner's job."""
    base, settings, app = inprocess_api
    api = Api(base)
    owner, stranger = new_user(settings), new_user(settings)
    job = (await api.gql(SUBMIT_RECEIPT, {"images": [{"base64": b64(scripted_image("A*1*pcs*1"))}]}, user=owner))[
        "data"]["submitReceipt"]
    await api.client.aclose()
    resources = app.state.resources
    batches: list[list[uuid.UUID]] = []
    read = resources.jobs.get_jobs_by_id

    async def counted(job_ids: Any) -> Any:
        batches.append(list(job_ids))
        return await read(job_ids)

    reader = resources.watch_reads
    job_id = uuid.UUID(job["id"])
    others = [uuid.uuid4() for _ in range(199)]
    monkeypatch.setattr(resources.jobs, "get_jobs_by_id", counted)
    found = await asyncio.gather(*(reader.read(i) for i in [job_id, *others]))
    assert batches == [[job_id, *others]]
    assert found[0] is not None and str(found[0].id) == job["id"] and found[1:] == [None] * 199
    stranger_identity = Identity(user_id=stranger.id, plan="free", expires_at=time.time() + 60)
    with pytest.raises(NotFound):
        await read_watched_job(reader, stranger_identity, job_id)


async def test_websockets_outside_graphql_are_still_refused(inprocess_api) -> None:
    """GraphQLWebSocket takes only /graphql's websockets past the router; other paths get the router's 403."""
    base, _, _ = inprocess_api
    with pytest.raises(websockets.InvalidStatus) as refused:
        await websockets.connect(base.replace("http", "ws") + "/healthz", subprotocols=["graphql-transport-ws"])  # type: ignore[list-item]
    assert refused.value.response.status_code == 403
