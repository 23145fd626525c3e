"""Job events in one process: coalescing subscriber flags and the recheck sweep (no servers needed)."""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
import uuid

import asyncpg
import pytest

from app.auth import Identity
from app.events import RECHECK_SLICES, JobEvents, JobListener, JobSubscriber, job_channel
from app.services.errors import NotFound
from app.services.watch import JobBatchReader, read_watched_job


def _broadcast() -> tuple[JobEvents, JobListener]:
    events = JobEvents("postgresql://unused/never-connected")
    return events, events.listener


def _notify(backend: JobListener, job_id: uuid.UUID) -> None:
    payload = json.dumps({"id": str(job_id), "status": "processing", "images_done": 0})
    backend._on_notify(None, 0, "product_job_update", payload)


async def test_events_for_a_watched_job_coalesce_into_one_pending_flag() -> None:
    broadcast, backend = _broadcast()
    job_id = uuid.uuid4()
    async with broadcast.subscribe(job_channel(job_id)) as subscriber:
        assert isinstance(subscriber, JobSubscriber)
        for _ in range(10_000):
            _notify(backend, job_id)
        assert subscriber.pending
        await subscriber.get()  # pending: returns without waiting
        assert not subscriber.pending
        waiting = asyncio.create_task(subscriber.get())
        await asyncio.sleep(0)
        assert not waiting.done()
        _notify(backend, job_id)
        assert (await waiting).channel == job_channel(job_id)
        assert not subscriber.pending
    assert broadcast.subscriber_count() == 0
    assert broadcast.channel_count() == 0


async def test_an_event_wakes_only_the_watchers_of_its_job() -> None:
    broadcast, backend = _broadcast()
    watched, other = uuid.uuid4(), uuid.uuid4()
    async with broadcast.subscribe(job_channel(watched)) as a, broadcast.subscribe(job_channel(watched)) as b, \
            broadcast.subscribe(job_channel(other)) as c:
        assert isinstance(a, JobSubscriber) and isinstance(b, JobSubscriber) and isinstance(c, JobSubscriber)
        _notify(backend, watched)
        _notify(backend, uuid.uuid4())  # nobody watches it: dropped by one set lookup
        assert (a.pending, b.pending, c.pending) == (True, True, False)
        assert broadcast.channel_count() == 2


async def test_the_recheck_sweep_nudges_every_subscriber_exactly_once_per_round() -> None:
    broadcast, _ = _broadcast()
    async with contextlib.AsyncExitStack() as stack:
        subscribers = [await stack.enter_async_context(broadcast.subscribe(job_channel(uuid.uuid4())))
                       for _ in range(300)]
        nudged = [broadcast.nudge_slice(tick) for tick in range(RECHECK_SLICES)]
        assert sum(nudged) == 300
        assert all(isinstance(s, JobSubscriber) and s.pending for s in subscribers)


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
    reader = JobBatchReader(_Pool(*[OSError("connection refused")] * 2))  # type: ignore[arg-type]
    results = await asyncio.gather(*(reader.read(uuid.uuid4()) for _ in range(50)), return_exceptions=True)
    assert [type(r) for r in results] == [OSError] * 50
    with pytest.raises(OSError, match="connection refused"):
        await reader.read(uuid.uuid4())


async def test_asyncpg_errors_are_retried_until_the_read_answers() -> None:
    """A dropped pooled connection and a server still starting are retried, not the end of the watch."""
    pool = _Pool(asyncpg.ConnectionDoesNotExistError("connection was closed"),
                 asyncpg.CannotConnectNowError("the database system is starting up"))
    identity = Identity(user_id=uuid.uuid4(), plan="free", expires_at=time.time() + 60)
    with pytest.raises(NotFound):  # the third read answers: no such job
        await read_watched_job(JobBatchReader(pool), identity, uuid.uuid4())  # type: ignore[arg-type]
    assert pool.calls == 3
