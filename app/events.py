"""Job change events: PostgreSQL NOTIFY -> one LISTEN connection per process -> broadcaster.

The worker NOTIFYs `product_job_update` with `{"id", "status", "images_done"}` from inside
the transaction that changed the job. Each API process holds one LISTEN connection
(`JobEventsBackend`) and routes every notification to the broadcaster channel of that
one job (`job:<uuid>`), so an event costs O(subscribers of that job), not O(all
subscribers). The NOTIFY callback signals the subscribers directly: no queue and no
task between the socket and them. NOTIFY is not durable: when the LISTEN connection is
lost the backend reconnects and signals every subscribed channel, and subscribers
re-read their job from the database, so no terminal state is missed.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import uuid
from collections.abc import AsyncIterator, Callable
from typing import Any

import asyncpg
from broadcaster import Broadcast, BroadcastBackend, Event
from broadcaster._base import Subscriber

from app.db import asyncpg_url
from app.repos.jobs import NOTIFY_CHANNEL

log = logging.getLogger(__name__)
CHANGED = "changed"  # the only message a subscriber gets: "re-read the job"
RECHECK_S = 300.0  # every subscription is nudged about this often, a safety net behind NOTIFY and resync
RECHECK_SLICES = 60
LISTEN_APPLICATION_NAME = "foodai-listen"  # plus ":<pid>": how operators (and fault tests) find it


def job_channel(job_id: uuid.UUID) -> str:
    """The broadcaster channel carrying one job's changes."""
    return f"job:{job_id}"


class JobEventsBackend(BroadcastBackend):
    """A broadcaster backend on one LISTEN connection, with keepalive and reconnect."""

    def __init__(self, database_url: str, *, keepalive_s: float = 5.0, reconnect_max_s: float = 5.0) -> None:
        self._url = asyncpg_url(database_url)
        self._keepalive_s = keepalive_s
        self._reconnect_max_s = reconnect_max_s
        self._channels: set[str] = set()
        self.dispatch: Callable[[str], None] = lambda _channel: None  # set by CoalescingBroadcast
        self._conn: asyncpg.Connection | None = None
        self._lost = asyncio.Event()
        self._supervisor: asyncio.Task[None] | None = None
        self.reconnects = 0

    @property
    def connected(self) -> bool:
        """Whether the LISTEN connection is up (for /readyz)."""
        return self._conn is not None and not self._conn.is_closed() and not self._lost.is_set()

    async def connect(self) -> None:
        await self._open()
        self._supervisor = asyncio.create_task(self._supervise(), name="listen-supervisor")

    async def disconnect(self) -> None:
        if self._supervisor is not None:
            self._supervisor.cancel()
            await asyncio.gather(self._supervisor, return_exceptions=True)
        if self._conn is not None:
            await self._conn.close()

    async def subscribe(self, channel: str) -> None:
        self._channels.add(channel)

    async def unsubscribe(self, channel: str) -> None:
        self._channels.discard(channel)

    async def publish(self, channel: str, message: Any) -> None:
        raise NotImplementedError("job events are published by the worker's NOTIFY, in its transaction")

    def channel_count(self) -> int:
        """Jobs watched in this process."""
        return len(self._channels)

    async def next_published(self) -> Event:
        raise NotImplementedError("events are dispatched from the NOTIFY callback, see CoalescingBroadcast")

    async def _open(self) -> None:
        conn = await asyncpg.connect(
            self._url, server_settings={"application_name": f"{LISTEN_APPLICATION_NAME}:{os.getpid()}"}
        )
        conn.add_termination_listener(lambda _conn: self._lost.set())
        await conn.add_listener(NOTIFY_CHANNEL, self._on_notify)
        self._conn = conn
        self._lost.clear()

    def _on_notify(self, _conn: object, _pid: int, _channel: str, payload: str) -> None:
        try:
            channel = job_channel(uuid.UUID(json.loads(payload)["id"]))
        except (ValueError, KeyError, TypeError):
            log.warning("ignoring malformed %s payload: %.200r", NOTIFY_CHANNEL, payload)
            return
        if channel in self._channels:  # O(1): nobody watches most jobs
            self.dispatch(channel)

    async def _supervise(self) -> None:
        while True:
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(self._keepalive_s):
                    await self._lost.wait()
            if not self._lost.is_set() and await self._alive():
                continue
            await self._reconnect()

    async def _alive(self) -> bool:
        try:
            async with asyncio.timeout(self._keepalive_s):
                assert self._conn is not None
                await self._conn.execute("SELECT 1")
        except (OSError, TimeoutError, asyncpg.PostgresError, asyncpg.InterfaceError):
            return False
        return True

    async def _reconnect(self) -> None:
        self._lost.set()
        if self._conn is not None:
            self._conn.terminate()
        delay = 0.1
        while True:
            try:
                await self._open()
                break
            except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError) as exc:
                log.warning("LISTEN reconnect failed: %r; retrying in %.1f s", exc, delay)
                await asyncio.sleep(delay)
                delay = min(self._reconnect_max_s, delay * 2)
        self.reconnects += 1
        log.info("LISTEN connection re-established; resyncing %d subscribed jobs", len(self._channels))
        for channel in list(self._channels):
            self.dispatch(channel)


class JobSubscriber(Subscriber):
    """One subscription's "look again" signal: a flag and at most one waiting future.

    Every job event means only "re-read the job", so events coalesce into the flag: a slow
    or stuck reader costs one flag, never a backlog. An idle subscription holds this object
    and nothing else (no asyncio.Queue, whose deques and Event cost ~3 KiB each).
    """

    def __init__(self, channel: str) -> None:  # no queue: broadcaster's Subscriber.get is replaced below
        self.channel = channel
        self.pending = False
        self._waiter: asyncio.Future[None] | None = None

    def notify(self) -> None:
        """Wake the reader, or leave the flag set for its next get()."""
        waiter = self._waiter
        if waiter is not None and not waiter.done():
            waiter.set_result(None)
        else:
            self.pending = True

    async def get(self) -> Event:
        """Wait for the next change (returns at once when one is pending)."""
        if not self.pending:
            waiter = asyncio.get_running_loop().create_future()
            self._waiter = waiter
            try:
                await waiter
            finally:
                self._waiter = None
        self.pending = False
        return Event(self.channel, CHANGED)


class CoalescingBroadcast(Broadcast):
    """Broadcaster whose subscribers are JobSubscriber flags, signalled straight from the NOTIFY callback.

    Dispatch is O(subscribers of that job): one dict lookup, then one flag per watcher of it.
    A sweep nudges every subscriber about once per `recheck_s` (a slice each tick), the last
    safety net behind the resync after a LISTEN loss, without a timer per subscription.
    """

    def __init__(self, backend: JobEventsBackend, *, recheck_s: float = RECHECK_S) -> None:
        super().__init__(backend=backend)
        self._jobs: dict[str, set[JobSubscriber]] = {}
        self._slices: list[set[str]] = [set() for _ in range(RECHECK_SLICES)]  # channels by hash: a tick is O(slice)
        self._recheck_s = recheck_s
        self._sweeper: asyncio.Task[None] | None = None
        backend.dispatch = self.notify

    async def connect(self) -> None:  # no listener task: the backend calls notify() itself
        await self._backend.connect()
        self._sweeper = asyncio.create_task(self._sweep(), name="subscription-recheck")

    async def disconnect(self) -> None:
        if self._sweeper is not None:
            self._sweeper.cancel()
            await asyncio.gather(self._sweeper, return_exceptions=True)
        await self._backend.disconnect()

    def notify(self, channel: str) -> None:
        """Signal every subscriber of `channel` (none for most jobs)."""
        for subscriber in self._jobs.get(channel, ()):
            subscriber.notify()

    async def _sweep(self) -> None:
        tick = 0
        while True:
            await asyncio.sleep(self._recheck_s / RECHECK_SLICES)
            tick = (tick + 1) % RECHECK_SLICES
            self.nudge_slice(tick)

    def nudge_slice(self, tick: int) -> int:
        """Nudge the subscribers of one slice of the channels (RECHECK_SLICES ticks cover each once)."""
        nudged = 0
        for channel in self._slices[tick]:
            for subscriber in self._jobs.get(channel, ()):
                subscriber.notify()
                nudged += 1
        return nudged

    @contextlib.asynccontextmanager
    async def subscribe(self, channel: str) -> AsyncIterator[Subscriber]:
        subscriber = JobSubscriber(channel)
        subscribers = self._jobs.setdefault(channel, set())
        if not subscribers:
            self._slices[hash(channel) % RECHECK_SLICES].add(channel)
            await self._backend.subscribe(channel)
        subscribers.add(subscriber)
        try:
            yield subscriber
        finally:
            subscribers.discard(subscriber)
            if not subscribers:
                del self._jobs[channel]
                self._slices[hash(channel) % RECHECK_SLICES].discard(channel)
                await self._backend.unsubscribe(channel)

    def subscriber_count(self) -> int:
        """Open subscriptions in this process (for metrics and leak tests)."""
        return sum(len(s) for s in self._jobs.values())


def create_broadcast(database_url: str) -> tuple[CoalescingBroadcast, JobEventsBackend]:
    """A broadcaster on our LISTEN backend; connect it in the app's lifespan."""
    backend = JobEventsBackend(database_url)
    return CoalescingBroadcast(backend), backend
