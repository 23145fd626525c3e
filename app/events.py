"""Job change events: PostgreSQL NOTIFY -> one LISTEN connection per process -> broadcaster.

The worker NOTIFYs `product_job_update` with `{"id", "status", "images_done"}` from inside
the transaction that changed the job. Each API process holds one LISTEN connection
(`JobEventsBackend`) and routes every notification to the broadcaster channel of that
one job (`job:<uuid>`), so an event costs O(subscribers of that job), not O(all
subscribers). NOTIFY is not durable: when the LISTEN connection is lost the backend
reconnects and sends a RESYNC event on every subscribed channel, and subscribers
re-read their job from the database, so no terminal state is missed.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import uuid
from collections.abc import AsyncIterator
from typing import Any

import asyncpg
from broadcaster import Broadcast, BroadcastBackend, Event
from broadcaster._base import Subscriber

from app.db import asyncpg_url
from app.repos.jobs import NOTIFY_CHANNEL

log = logging.getLogger(__name__)
RESYNC = "resync"
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
        self._queue: asyncio.Queue[Event] = asyncio.Queue()
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

    def queued(self) -> int:
        """Events received and not yet handed to broadcaster."""
        return self._queue.qsize()

    async def next_published(self) -> Event:
        return await self._queue.get()

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
            self._queue.put_nowait(Event(channel, payload))

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
        for channel in self._channels:
            self._queue.put_nowait(Event(channel, RESYNC))


class CoalescingBroadcast(Broadcast):
    """Broadcaster whose subscriber queues hold at most one pending event.

    Every job event means only "re-read the job", so when a subscriber has not taken
    the previous event yet, a new one adds nothing: a slow or stuck reader costs one
    queue slot, never a growing backlog.
    """

    async def _listener(self) -> None:
        while True:
            event = await self._backend.next_published()
            for queue in list(self._subscribers.get(event.channel, ())):
                if queue.empty():
                    queue.put_nowait(event)

    @contextlib.asynccontextmanager
    async def subscribe(self, channel: str) -> AsyncIterator[Subscriber]:
        queue: asyncio.Queue[Event | None] = asyncio.Queue(maxsize=1)
        subscribers = self._subscribers.setdefault(channel, set())
        if not subscribers:
            await self._backend.subscribe(channel)
        subscribers.add(queue)
        try:
            yield Subscriber(queue)
        finally:
            subscribers.discard(queue)
            if not subscribers:
                del self._subscribers[channel]
                await self._backend.unsubscribe(channel)

    def subscriber_count(self) -> int:
        """Open subscriptions in this process (for metrics and leak tests)."""
        return sum(len(s) for s in self._subscribers.values())


def create_broadcast(database_url: str) -> tuple[CoalescingBroadcast, JobEventsBackend]:
    """A broadcaster on our LISTEN backend; connect it in the app's lifespan."""
    backend = JobEventsBackend(database_url)
    return CoalescingBroadcast(backend=backend), backend
