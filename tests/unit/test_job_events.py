"""Job events in one process: the backend's watched channels, coalescing, resync and recheck (no servers needed)."""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
import uuid

import asyncpg
import pytest
from broadcaster import Broadcast, Event

from app.auth import Identity
from app.backoff import Backoff
from app.errors import NotFound
from app.events import (
    RECHECK,
    RECHECK_SLICES,
    RESYNC,
    JobListener,
    PostgresNotifyBackend,
    channel_job,
    job_channel,
)
from app.jobs import JobStore
from app.services.watch import JobBatchReader, read_watched_job


def _backend() -> PostgresNotifyBackend:
    return PostgresNotifyBackend("postgresql://unused/never-connected")


def _payload(job_id: uuid.UUID, images_done: int = 0) -> str:
    return json.dumps({"id": str(job_id), "status": "processing", "images_done": images_done})


def _notify(backend: PostgresNotifyBackend, payload: str) -> None:
    backend.listener._on_notify(None, 0, "product_job_update", payload)


async def _would_wait(backend: PostgresNotifyBackend) -> bool:
    """Whether next_published would wait: nothing is pending."""
    later = asyncio.create_task(backend.next_published())
    await asyncio.sleep(0)
    waiting = not later.done()
    later.cancel()
    await asyncio.gather(later, return_exceptions=True)
    return waiting


async def test_events_for_a_watched_job_coalesce_into_one_pending_event_with_the_latest_payload() -> None:
    backend, job_id = _backend(), uuid.uuid4()
    channel = job_channel(job_id)
    await backend.subscribe(channel)
    for done in range(10_000):
        _notify(backend, _payload(job_id, done))
    assert backend.pending_count() == 1
    assert await backend.next_published() == Event(channel, _payload(job_id, 9_999))
    assert await _would_wait(backend)
    await backend.unsubscribe(channel)
    assert backend.channel_count() == 0


async def test_only_events_of_watched_jobs_are_queued_in_arrival_order() -> None:
    backend = _backend()
    first, second, unwatched = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    for job_id in (first, second):
        await backend.subscribe(job_channel(job_id))
    for job_id in (second, unwatched, first):  # nobody here watches `unwatched`: dropped by one set lookup
        _notify(backend, _payload(job_id))
    _notify(backend, "not json")  # logged and dropped
    assert backend.channel_count() == 2
    assert [(await backend.next_published()).channel for _ in range(2)] == [job_channel(second), job_channel(first)]
    assert await _would_wait(backend)


async def test_unsubscribing_drops_the_channel_s_pending_event() -> None:
    backend, job_id = _backend(), uuid.uuid4()
    await backend.subscribe(job_channel(job_id))
    _notify(backend, _payload(job_id))
    await backend.unsubscribe(job_channel(job_id))
    assert backend.pending_count() == 0
    assert await _would_wait(backend)


async def test_a_resync_queues_one_event_for_every_watched_channel() -> None:
    backend = _backend()
    channels = {job_channel(uuid.uuid4()) for _ in range(300)}
    for channel in channels:
        await backend.subscribe(channel)
    _notify(backend, _payload(channel_job(next(iter(channels)))))  # already pending: still one event
    backend.resync()
    events = [await backend.next_published() for _ in range(300)]
    assert {e.channel for e in events} == channels
    assert {e.message for e in events} == {RESYNC}
    assert await _would_wait(backend)


async def test_the_recheck_sweep_nudges_every_watched_channel_exactly_once_per_round() -> None:
    backend = _backend()
    channels = {job_channel(uuid.uuid4()) for _ in range(300)}
    for channel in channels:
        await backend.subscribe(channel)
    nudged = [backend.nudge_slice(tick) for tick in range(RECHECK_SLICES)]
    assert sum(nudged) == 300
    events = [await backend.next_published() for _ in range(300)]
    assert {e.channel for e in events} == channels
    assert {e.message for e in events} == {RECHECK}


async def test_broadcast_tells_the_backend_a_channel_s_first_and_last_subscriber_only() -> None:
    backend = _backend()
    broadcast = Broadcast(backend=backend)  # not connected: subscribing is bookkeeping, no SQL
    watched, other = job_channel(uuid.uuid4()), job_channel(uuid.uuid4())
    async with contextlib.AsyncExitStack() as stack:
        for channel in (watched, watched, other):
            await stack.enter_async_context(broadcast.subscribe(channel))
        assert backend.channel_count() == 2
    assert backend.channel_count() == 0


def test_a_job_channel_names_its_job_and_nothing_else_is_one() -> None:
    job_id = uuid.uuid4()
    assert channel_job(job_channel(job_id)) == job_id
    with pytest.raises(ValueError, match="not a job channel"):
        channel_job(f"user:{job_id}")


async def test_publish_refuses_a_message_that_is_not_a_json_object() -> None:
    with pytest.raises(TypeError, match="JSON object"):
        await _backend().publish(job_channel(uuid.uuid4()), "[1, 2]")


class _Pool:
    """A pool whose reads fail with `errors`, one per call, then find nothing."""

    def __init__(self, *errors: Exception) -> None:
        self.errors = list(errors)
        self.calls = 0

    async def fetch(self, *_args: object) -> list[object]:
        self.calls += 1
        if self.errors:
            raise self.errors.pop(0)
        return []


async def test_a_failed_batch_read_reaches_every_waiter_and_the_next_read_starts_a_new_batch() -> None:
    reader = JobBatchReader(JobStore(_Pool(*[OSError("connection refused")] * 2)))  # type: ignore[arg-type]
    results = await asyncio.gather(*(reader.read(uuid.uuid4()) for _ in range(50)), return_exceptions=True)
    assert [type(r) for r in results] == [OSError] * 50
    with pytest.raises(OSError, match="connection refused"):
        await reader.read(uuid.uuid4())


async def test_asyncpg_errors_are_retried_until_the_read_answers() -> None:
    """A dropped pooled connection, a server still starting and a connection that opened as the server
    went down (asyncpg's InternalClientError) are retried, not the end of the watch."""
    pool = _Pool(asyncpg.ConnectionDoesNotExistError("connection was closed"),
                 asyncpg.CannotConnectNowError("the database system is starting up"),
                 asyncpg.InternalClientError("cannot switch to state 15; another operation (2) is in progress"))
    identity = Identity(user_id=uuid.uuid4(), plan="free", expires_at=time.time() + 60)
    with pytest.raises(NotFound):  # the fourth read answers: no such job
        await read_watched_job(JobBatchReader(JobStore(pool)), identity, uuid.uuid4())  # type: ignore[arg-type]
    assert pool.calls == 4


class _ListenConnection:
    """What JobListener uses of an asyncpg connection; its LISTEN fails when `listen_error` is given."""

    def __init__(self, listen_error: Exception | None = None) -> None:
        self.listen_error = listen_error
        self.terminated = False

    async def add_listener(self, _channel: str, _callback: object) -> None:
        if self.listen_error is not None:
            raise self.listen_error

    def add_termination_listener(self, _callback: object) -> None:
        pass

    def is_closed(self) -> bool:
        return self.terminated

    def terminate(self) -> None:
        self.terminated = True


async def test_a_listen_that_fails_as_the_server_restarts_is_retried_and_followed_by_one_resync(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The LISTEN of a connection opened as PostgreSQL shuts down raises InternalClientError, which
    used to end the reconnect loop for good and leave every watcher of the process unwoken."""
    failing = _ListenConnection(asyncpg.InternalClientError("cannot switch to state 12; another operation in progress"))
    working = _ListenConnection()
    connections = iter([failing, working])

    async def connect(*_args: object, **_kwargs: object) -> _ListenConnection:
        return next(connections)

    monkeypatch.setattr(asyncpg, "connect", connect)
    resyncs: list[None] = []
    listener = JobListener("postgresql://unused/never-connected", on_job=lambda *_: None,
                           on_resync=lambda: resyncs.append(None), backoff=Backoff(first_s=0.001, cap_s=0.001))
    await listener._reconnect()
    assert (failing.terminated, working.terminated, listener.connected, len(resyncs)) == (True, False, True, 1)
    listener._on_termination(failing)  # the failed connection's late close does not mark its successor lost
    assert listener.connected
    listener._on_termination(working)
    assert not listener.connected
