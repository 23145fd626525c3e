"""Job change events: PostgreSQL NOTIFY -> one LISTEN connection per process -> the job's watchers.

The worker NOTIFYs `product_job_update` with `{"id", "status", "images_done"}` from inside
the transaction that changed the job. Each API process holds one LISTEN connection
(`JobListener`) and `JobEvents` routes every notification to the watchers of that one job
(channel `job:<uuid>`), so an event costs O(watchers of that job), not O(all watchers). The
NOTIFY callback signals the watchers directly: no queue and no task between the socket and
them. NOTIFY is not durable: when the LISTEN connection is lost the listener reconnects with
backoff and JobEvents signals every watched job, whose watchers re-read it from the
database, so no terminal state is missed.

Why not broadcaster: its `Broadcast` feeds one asyncio.Queue per subscriber from a listener
task that awaits `backend.next_published()`, and publishes through the backend. Here an event
only means "re-read the job" (a flag per watcher is enough, and 5,000 idle queues are not),
the callback can signal without a task, and the worker publishes with NOTIFY inside its own
transaction. Fitting that into broadcaster meant subclassing its private `_base` and
overriding nearly all of it, so these two small classes own the whole of it instead.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import uuid
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass

import asyncpg

from app.backoff import Backoff, retry
from app.db import asyncpg_url
from app.repos.jobs import NOTIFY_CHANNEL

log = logging.getLogger(__name__)
RECHECK_S = 300.0  # every subscription is nudged about this often, a safety net behind NOTIFY and resync
RECHECK_SLICES = 60
LISTEN_APPLICATION_NAME = "foodai-listen"  # plus ":<pid>": how operators (and fault tests) find it
LISTEN_BACKOFF = Backoff(first_s=0.1, cap_s=5.0)
LISTEN_ERRORS = (OSError, asyncpg.PostgresError, asyncpg.InterfaceError)


def job_channel(job_id: uuid.UUID) -> str:
    """The channel carrying one job's changes."""
    return f"job:{job_id}"


class JobListener:
    """The process's LISTEN connection, with keepalive, reconnect with backoff, and a resync after it.

    `on_job(channel)` runs in the NOTIFY callback for each well-formed notification, and
    `on_resync()` after each reconnect, when notifications may have been missed.
    """

    def __init__(self, database_url: str, *, on_job: Callable[[str], None], on_resync: Callable[[], None],
                 keepalive_s: float = 5.0, backoff: Backoff = LISTEN_BACKOFF) -> None:
        self._url = asyncpg_url(database_url)
        self._on_job = on_job
        self._on_resync = on_resync
        self._keepalive_s = keepalive_s
        self._backoff = backoff
        self._conn: asyncpg.Connection | None = None
        self._lost = asyncio.Event()
        self._supervisor: asyncio.Task[None] | None = None

    @property
    def connected(self) -> bool:
        """Whether the LISTEN connection is up (for /readyz)."""
        return self._conn is not None and not self._conn.is_closed() and not self._lost.is_set()

    async def connect(self) -> None:
        """Open the connection (raising when PostgreSQL is away) and start watching over it."""
        await self._open()
        self._supervisor = asyncio.create_task(self._supervise(), name="listen-supervisor")

    async def disconnect(self) -> None:
        """Stop watching and close the connection."""
        if self._supervisor is not None:
            self._supervisor.cancel()
            await asyncio.gather(self._supervisor, return_exceptions=True)
        if self._conn is not None:
            await self._conn.close()

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
        self._on_job(channel)

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
        except (*LISTEN_ERRORS, TimeoutError):
            return False
        return True

    async def _reconnect(self) -> None:
        self._lost.set()
        if self._conn is not None:
            self._conn.terminate()
        await retry(self._open, errors=LISTEN_ERRORS, backoff=self._backoff, what="LISTEN reconnect", log=log)
        log.info("LISTEN connection re-established")
        self._on_resync()


@dataclass(frozen=True, slots=True)
class Changed:
    """What a watcher gets: the job on `channel` may have changed, re-read it."""

    channel: str


class JobSubscriber:
    """One subscription's "look again" signal: a flag and at most one waiting future.

    Every job event means only "re-read the job", so events coalesce into the flag: a slow
    or stuck reader costs one flag, never a backlog. An idle subscription holds this object
    and nothing else (no asyncio.Queue, whose deques and Event cost ~3 KiB each).
    """

    __slots__ = ("_waiter", "channel", "pending")

    def __init__(self, channel: str) -> None:
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

    async def get(self) -> Changed:
        """Wait for the next change (returns at once when one is pending)."""
        if not self.pending:
            waiter = asyncio.get_running_loop().create_future()
            self._waiter = waiter
            try:
                await waiter
            finally:
                self._waiter = None
        self.pending = False
        return Changed(self.channel)


class JobEvents:
    """The process's job watchers by channel, signalled by its JobListener; `async with` connects it.

    Dispatch is O(watchers of that job): one dict lookup, then one flag per watcher of it.
    A sweep nudges every subscriber about once per `recheck_s` (a slice each tick), the last
    safety net behind the resync after a LISTEN loss, without a timer per subscription.
    """

    def __init__(self, database_url: str, *, recheck_s: float = RECHECK_S, keepalive_s: float = 5.0) -> None:
        self.listener = JobListener(database_url, on_job=self.notify, on_resync=self.resync, keepalive_s=keepalive_s)
        self._jobs: dict[str, set[JobSubscriber]] = {}
        self._slices: list[set[str]] = [set() for _ in range(RECHECK_SLICES)]  # channels by hash: a tick is O(slice)
        self._recheck_s = recheck_s
        self._sweeper: asyncio.Task[None] | None = None

    @property
    def connected(self) -> bool:
        """Whether the LISTEN connection is up (for /readyz)."""
        return self.listener.connected

    async def connect(self) -> None:
        """Open the LISTEN connection and start the recheck sweep."""
        await self.listener.connect()
        self._sweeper = asyncio.create_task(self._sweep(), name="subscription-recheck")

    async def disconnect(self) -> None:
        """Stop the sweep and close the LISTEN connection."""
        if self._sweeper is not None:
            self._sweeper.cancel()
            await asyncio.gather(self._sweeper, return_exceptions=True)
        await self.listener.disconnect()

    async def __aenter__(self) -> JobEvents:
        await self.connect()
        return self

    async def __aexit__(self, *_exc: object) -> None:
        await self.disconnect()

    @contextlib.asynccontextmanager
    async def subscribe(self, channel: str) -> AsyncIterator[JobSubscriber]:
        """A subscriber of `channel` for the block; leaving it (or being cancelled) unsubscribes."""
        subscriber = JobSubscriber(channel)
        subscribers = self._jobs.setdefault(channel, set())
        if not subscribers:
            self._slices[hash(channel) % RECHECK_SLICES].add(channel)
        subscribers.add(subscriber)
        try:
            yield subscriber
        finally:
            subscribers.discard(subscriber)
            if not subscribers:
                del self._jobs[channel]
                self._slices[hash(channel) % RECHECK_SLICES].discard(channel)

    def notify(self, channel: str) -> None:
        """Signal every subscriber of `channel` (none for most jobs)."""
        for subscriber in self._jobs.get(channel, ()):
            subscriber.notify()

    def resync(self) -> None:
        """Signal every subscriber: after a LISTEN loss any job may have changed unheard."""
        log.info("resyncing %d subscribed jobs", len(self._jobs))
        for channel in list(self._jobs):
            self.notify(channel)

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

    def subscriber_count(self) -> int:
        """Open subscriptions in this process (for metrics and leak tests)."""
        return sum(len(s) for s in self._jobs.values())

    def channel_count(self) -> int:
        """Jobs watched in this process."""
        return len(self._jobs)


def create_broadcast(database_url: str) -> tuple[JobEvents, JobListener]:
    """The process's JobEvents and its listener (for /readyz); connect them with `async with` in the lifespan."""
    events = JobEvents(database_url)
    return events, events.listener
