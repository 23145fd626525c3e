"""Job change events: PostgreSQL NOTIFY -> one LISTEN connection per process -> broadcaster -> the job's watchers.

The worker NOTIFYs `product_job_update` with `{"id", "status", "images_done"}` from inside
the transaction that changed the job (app.repos), so an event is sent only if the change
commits. Each API process runs broadcaster as designed: one `Broadcast` whose backend is
ours, `PostgresNotifyBackend`, a subclass of broadcaster's public `BroadcastBackend`.
Watchers enter `broadcast.subscribe(job_channel(id))`; broadcaster keeps the channel ->
subscriber queues map and tells the backend when a channel gains its first or loses its
last subscriber, and its listener task moves each event the backend hands out to that
channel's queues, so an event costs O(watchers of that job).

Why our own backend and not broadcaster's `postgres://` one: that one LISTENs once per
channel (one LISTEN per watched job), holds a plain connection with no keepalive, never
reconnects, and after a loss would neither notice nor tell anyone that events were missed.
NOTIFY is not durable, so ours keeps one LISTEN on the single NOTIFY channel with a
keepalive, reconnects with backoff (app.backoff), then queues a resync event for every
watched channel: watchers re-read the job from the database, so no terminal state is
missed. A slow sweep also nudges every watched channel about once per RECHECK_S, the last
safety net. Events are queued only for channels watched here, and at most one per channel
(an event only means "re-read the job", so a burst of NOTIFYs coalesces into one).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import uuid
from collections.abc import Callable, Mapping
from typing import Any

import asyncpg
from broadcaster import Broadcast, BroadcastBackend, Event

from app.backoff import Backoff, retry
from app.db import DB_ERRORS, asyncpg_url
from app.jobs.queries import NOTIFY_CHANNEL

log = logging.getLogger(__name__)
RECHECK_S = 300.0  # every watched channel is nudged about this often, a safety net behind NOTIFY and resync
RECHECK_SLICES = 60
RESYNC = "resync"  # the message of the events queued after a reconnect
RECHECK = "recheck"  # ... and of the sweep's nudges
LISTEN_APPLICATION_NAME = "foodai-listen"  # plus ":<pid>": how operators (and fault tests) find it
LISTEN_BACKOFF = Backoff(first_s=0.1, cap_s=5.0)
CHANNEL_PREFIX = "job:"


def job_channel(job_id: uuid.UUID) -> str:
    """The channel carrying one job's changes."""
    return f"{CHANNEL_PREFIX}{job_id}"


def channel_job(channel: str) -> uuid.UUID:
    """The job id of a `job_channel`; ValueError for any other name."""
    if not channel.startswith(CHANNEL_PREFIX):
        raise ValueError(f"not a job channel: {channel!r}")
    return uuid.UUID(channel.removeprefix(CHANNEL_PREFIX))


class JobListener:
    """The process's LISTEN connection, with keepalive, reconnect with backoff, and a resync after it.

    `on_job(channel, payload)` runs in the NOTIFY callback for each well-formed notification,
    and `on_resync()` after each reconnect, when notifications may have been missed.
    """

    def __init__(self, database_url: str, *, on_job: Callable[[str, str], None], on_resync: Callable[[], None],
                 keepalive_s: float = 5.0, backoff: Backoff = LISTEN_BACKOFF) -> None:
        self._url = asyncpg_url(database_url)
        self._on_job = on_job
        self._on_resync = on_resync
        self._keepalive_s = keepalive_s
        self._backoff = backoff
        self._conn: asyncpg.Connection | None = None
        self._busy = asyncio.Lock()  # one statement at a time on the connection: keepalive or notify
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

    async def notify(self, payload: str) -> None:
        """NOTIFY the job channel with `payload` on this connection (raises when it is down)."""
        async with self._busy:
            if self._conn is None or not self.connected:
                raise asyncpg.InterfaceError("the LISTEN connection is down")
            await self._conn.execute("SELECT pg_notify($1, $2)", NOTIFY_CHANNEL, payload)

    async def _open(self) -> None:
        conn = await asyncpg.connect(
            self._url, server_settings={"application_name": f"{LISTEN_APPLICATION_NAME}:{os.getpid()}"}
        )
        try:
            await conn.add_listener(NOTIFY_CHANNEL, self._on_notify)
        except BaseException:
            conn.terminate()  # nothing is left open on failure
            raise
        # only the current connection's loss counts: the close of one that failed to listen or was
        # replaced must not mark its successor lost (the keepalive notices a loss before this line)
        conn.add_termination_listener(self._on_termination)
        self._conn = conn
        self._lost.clear()

    def _on_termination(self, closed: object) -> None:
        if closed is self._conn:
            self._lost.set()

    def _on_notify(self, _conn: object, _pid: int, _channel: str, payload: str) -> None:
        try:
            channel = job_channel(uuid.UUID(json.loads(payload)["id"]))
        except (ValueError, KeyError, TypeError):
            log.warning("ignoring malformed %s payload: %.200r", NOTIFY_CHANNEL, payload)
            return
        self._on_job(channel, payload)

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
            async with asyncio.timeout(self._keepalive_s), self._busy:
                assert self._conn is not None
                await self._conn.execute("SELECT 1")
        except (*DB_ERRORS, TimeoutError):
            return False
        return True

    async def _reconnect(self) -> None:
        self._lost.set()
        if self._conn is not None:
            self._conn.terminate()
        await retry(self._open, errors=DB_ERRORS, backoff=self._backoff, what="LISTEN reconnect", log=log)
        log.info("LISTEN connection re-established")
        self._on_resync()


class PostgresNotifyBackend(BroadcastBackend):
    """broadcaster's backend for job events: one JobListener, the channels watched here, their pending events.

    `subscribe`/`unsubscribe` (called by Broadcast for a channel's first and last subscriber)
    only keep the set of watched channels: no SQL per job. Pending events are one per channel,
    the latest payload winning, handed out in arrival order by `next_published`.
    """

    def __init__(self, database_url: str, *, recheck_s: float = RECHECK_S, keepalive_s: float = 5.0) -> None:
        # BroadcastBackend.__init__ only raises: it marks the constructor as the backend's own
        self.listener = JobListener(database_url, on_job=self._queue_if_watched, on_resync=self.resync,
                                    keepalive_s=keepalive_s)
        self._watched: set[str] = set()
        self._slices: list[set[str]] = [set() for _ in range(RECHECK_SLICES)]  # channels by hash: a tick is O(slice)
        self._pending: dict[str, str] = {}  # channel -> message, in arrival order
        self._ready = asyncio.Event()
        self._recheck_s = recheck_s
        self._sweeper: asyncio.Task[None] | None = None

    @property
    def connected(self) -> bool:
        """Whether the LISTEN connection is up (for /readyz)."""
        return self.listener.connected

    async def connect(self) -> None:
        """Open the LISTEN connection (raising when PostgreSQL is away) and start the recheck sweep."""
        await self.listener.connect()
        self._sweeper = asyncio.create_task(self._sweep(), name="subscription-recheck")

    async def disconnect(self) -> None:
        """Stop the sweep and close the LISTEN connection."""
        if self._sweeper is not None:
            self._sweeper.cancel()
            await asyncio.gather(self._sweeper, return_exceptions=True)
        await self.listener.disconnect()

    async def subscribe(self, channel: str) -> None:
        """Watch `channel` in this process (Broadcast calls this for its first subscriber)."""
        self._watched.add(channel)
        self._slices[hash(channel) % RECHECK_SLICES].add(channel)

    async def unsubscribe(self, channel: str) -> None:
        """Stop watching `channel` and drop its pending event (Broadcast calls this after its last subscriber)."""
        self._watched.discard(channel)
        self._slices[hash(channel) % RECHECK_SLICES].discard(channel)
        self._pending.pop(channel, None)

    async def publish(self, channel: str, message: Any) -> None:
        """NOTIFY a change of the job on `channel`, in the worker's payload format, for every API process.

        `message` is the job's fields (a mapping or a JSON object string, e.g. status and
        images_done); the id comes from the channel. The worker does not call this: it
        NOTIFYs inside the transaction that changed the job (app.repos). This is for tools and tests.
        """
        fields = json.loads(message) if isinstance(message, str) else message
        if not isinstance(fields, Mapping):
            raise TypeError(f"a job event is a JSON object, not {type(fields).__name__}")
        await self.listener.notify(json.dumps({**fields, "id": str(channel_job(channel))}))

    async def next_published(self) -> Event:
        """The oldest pending event, waiting for one (Broadcast's listener task loops on this)."""
        while not self._pending:
            self._ready.clear()
            await self._ready.wait()
        channel = next(iter(self._pending))
        return Event(channel, self._pending.pop(channel))

    def resync(self) -> None:
        """Queue an event for every watched channel: after a LISTEN loss any job may have changed unheard."""
        log.info("resyncing %d watched jobs", len(self._watched))
        for channel in self._watched:
            self._queue(channel, RESYNC)

    def nudge_slice(self, tick: int) -> int:
        """Queue an event for one slice of the watched channels (RECHECK_SLICES ticks cover each once)."""
        for channel in self._slices[tick]:
            self._queue(channel, RECHECK)
        return len(self._slices[tick])

    def channel_count(self) -> int:
        """Jobs watched in this process (each has at least one subscriber in the Broadcast)."""
        return len(self._watched)

    def pending_count(self) -> int:
        """Events queued and not yet taken by the Broadcast (at most one per watched channel)."""
        return len(self._pending)

    def _queue_if_watched(self, channel: str, payload: str) -> None:
        if channel in self._watched:  # most jobs have no watcher in this process: one set lookup
            self._queue(channel, payload)

    def _queue(self, channel: str, message: str) -> None:
        self._pending[channel] = message  # an already pending channel keeps its place, with the newer message
        self._ready.set()

    async def _sweep(self) -> None:
        tick = 0
        while True:
            await asyncio.sleep(self._recheck_s / RECHECK_SLICES)
            tick = (tick + 1) % RECHECK_SLICES
            self.nudge_slice(tick)


def create_broadcast(database_url: str) -> tuple[Broadcast, PostgresNotifyBackend]:
    """The process's Broadcast on its PostgresNotifyBackend (kept for /readyz and counts); `async with` it."""
    backend = PostgresNotifyBackend(database_url)
    return Broadcast(backend=backend), backend
