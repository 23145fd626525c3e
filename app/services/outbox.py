"""The outbox relay: publishes committed jobs to Kafka after the submit has answered.

A submit commits the job (the row is the outbox) and hands it here; the mutation never
waits for Kafka. The relay sends at once, in batches, and marks what the broker acknowledged
(`published_at`) later: one autocommitted UPDATE every MARK_EVERY_S for all sent since.
The mark only keeps the sweeper from publishing a job again after WORKER_REPUBLISH_AFTER_S,
so it may lag; doing it per batch cost the API an UPDATE per job at low rates, right when
the worker needed the CPU to claim that job. Whatever was not sent or not marked — broker
down, process killed with jobs still queued here — stays unmarked, and the sweeper
publishes it again (a duplicate is harmless: the claim is a guarded UPDATE).
"""

from __future__ import annotations

import asyncio
import logging
import uuid

from app.db import DB_ERRORS
from app.jobs import JobStore
from app.queue.messages import JobMessage
from app.queue.producer import JobPublisher

log = logging.getLogger(__name__)
MARK_EVERY_S = 0.25


class OutboxRelay:
    """A bounded in-process queue of jobs to publish, drained by one task; another marks what was sent."""

    def __init__(self, jobs: JobStore, publisher: JobPublisher, *, capacity: int = 10_000,
                 batch: int = 200, mark_every_s: float = MARK_EVERY_S) -> None:
        self._jobs = jobs
        self._publisher = publisher
        self._queue: asyncio.Queue[JobMessage] = asyncio.Queue(capacity)
        self._batch = batch
        self._mark_every_s = mark_every_s
        self._sent: list[uuid.UUID] = []  # acknowledged by the broker, not yet marked
        self._task: asyncio.Task[None] | None = None
        self._marker: asyncio.Task[None] | None = None
        self.dropped = 0

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="outbox-relay")
        self._marker = asyncio.create_task(self._mark_periodically(), name="outbox-marks")

    @property
    def task(self) -> asyncio.Task[None] | None:
        return self._task

    def submit(self, message: JobMessage) -> None:
        """Queue a committed job for publishing; when full, leave it to the sweeper."""
        try:
            self._queue.put_nowait(message)
        except asyncio.QueueFull:
            self.dropped += 1
            log.warning("outbox relay full; job %s will be published by the sweeper", message.job_id)

    async def stop(self, deadline_s: float = 5.0) -> None:
        """Publish what is queued, within the deadline; the rest is left to the sweeper."""
        if self._task is None:
            return
        try:
            async with asyncio.timeout(deadline_s):
                await self._queue.join()
        except TimeoutError:
            log.warning("outbox relay stopped with %d jobs unsent", self._queue.qsize())
        tasks = [t for t in (self._task, self._marker) if t is not None]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        await self._mark()

    async def _run(self) -> None:
        while True:
            batch = [await self._queue.get()]
            while len(batch) < self._batch and not self._queue.empty():
                batch.append(self._queue.get_nowait())
            try:
                await self._publish(batch)
            finally:
                for _ in batch:
                    self._queue.task_done()

    async def _publish(self, batch: list[JobMessage]) -> None:
        results = await asyncio.gather(*(self._publisher.publish(m) for m in batch))
        self._sent += [m.job_id for m, ok in zip(batch, results, strict=True) if ok]

    async def _mark_periodically(self) -> None:
        while True:
            await asyncio.sleep(self._mark_every_s)
            await self._mark()

    async def _mark(self) -> None:
        sent, self._sent = self._sent, []
        if not sent:
            return
        try:
            await self._jobs.mark_published(sent)  # one autocommitted UPDATE
        except DB_ERRORS as exc:  # unmarked jobs are only republished: harmless
            log.warning("could not mark %d jobs published (%r); they may be published twice", len(sent), exc)
