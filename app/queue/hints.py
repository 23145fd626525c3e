"""Submit hints: a worker hears of a new job from PostgreSQL the moment its submit commits.

Kafka stays the queue: order, paid before free, redelivery and committed offsets all come
from it. But a worker sees a record only when a fetch returns it, and Tansu answers a fetch
only when fetch_max_wait_ms runs out, so an idle worker left every new job waiting for the
produce and the rest of a fetch wait (4 to 5 ms at 5 ms, 10 ms at the default 20).
foodai_submit_job (migration 0004) NOTIFYs foodai_job_submitted at commit; the worker that
owns the job's partition and has a get() waiting claims the job at once
(PriorityConsumer.offer). When the record arrives it is settled without a second claim.
An announcement names the API's topics: workers of other topics on the same database ignore it.

A hint is only ever a shortcut: one missed (listener reconnecting, no idle slot, another
member owns the partition, older records of that topic buffered) leaves the job to its
record, exactly as without hints; the claim is a guarded UPDATE, so a job is claimed once.
"""

from __future__ import annotations

import asyncio
import json
import logging
import uuid
from collections.abc import Callable

import asyncpg

from app.backoff import Backoff, retry
from app.db import DB_ERRORS
from app.queue.messages import JobMessage

log = logging.getLogger(__name__)
CHANNEL = "foodai_job_submitted"
LISTEN_BACKOFF = Backoff(first_s=0.5, cap_s=10.0)


def announcement(topics: tuple[str, str], headers: tuple[tuple[str, bytes], ...]) -> dict[str, object]:
    """What the API adds to a job's announcement: its topics (paid, free), so that only workers
    of those topics act on it, and the Kafka message's headers (request id, trace context)."""
    return {"topics": list(topics), "headers": {k: v.decode() for k, v in headers}}


def parse_hint(payload: str, topics: tuple[str, str]) -> JobMessage | None:
    """An announcement for these topics -> the job's message with its headers; None for anything else."""
    try:
        data = json.loads(payload)
        if data["topics"] != list(topics):
            return None
        message = JobMessage(uuid.UUID(data["job_id"]), data["job_type"], data["user_plan"],
                             headers=tuple((str(k), str(v).encode()) for k, v in data["headers"].items()))
    except (ValueError, KeyError, TypeError, AttributeError):
        return None
    return message if message.known else None


class SubmitListener:
    """One LISTEN connection, reopened with backoff when lost; `on_hint` runs in the NOTIFY callback
    for each announcement of a job on `topics`."""

    def __init__(self, database_url: str, topics: tuple[str, str], on_hint: Callable[[JobMessage], object]) -> None:
        self._url = database_url
        self._topics = topics
        self._on_hint = on_hint
        self._task: asyncio.Task[None] | None = None
        self.connected = False

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="submit-hints")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)

    def _notified(self, _conn: object, _pid: int, _channel: str, payload: str) -> None:
        message = parse_hint(payload, self._topics)
        if message is not None:
            self._on_hint(message)

    async def _run(self) -> None:
        """Listen until cancelled: (re)connect with backoff, then wait for the connection's loss."""
        while True:
            conn, lost = await retry(self._listen, errors=DB_ERRORS, backoff=LISTEN_BACKOFF,
                                     what="submit hints: listen", log=log)
            try:
                self.connected = True
                log.info("submit hints: listening on %s", CHANNEL)
                await lost.wait()
                log.warning("submit hints: listener connection lost; reconnecting")
            finally:
                self.connected = False
                conn.terminate()

    async def _listen(self) -> tuple[asyncpg.Connection, asyncio.Event]:
        """A connection LISTENing on CHANNEL and the event set when it is lost; nothing is left open on failure."""
        conn = await asyncpg.connect(self._url, server_settings={"application_name": "foodai-worker-hints"})
        lost = asyncio.Event()
        conn.add_termination_listener(lambda _conn: lost.set())
        try:
            await conn.add_listener(CHANNEL, self._notified)
        except BaseException:
            conn.terminate()
            raise
        return conn, lost
