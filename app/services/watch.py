"""Watching a job: its state now, then every change, until it is DONE or FAILED.

A watch is a broadcaster subscription to the job's channel (app.events), entered with
`async with`, so leaving the stream or being cancelled unsubscribes. Events only say
"look again": every state sent is re-read from the database, so a lost NOTIFY (LISTEN
reconnect, then a resync event), a duplicate, or a burst of them never yields a wrong or
stale state. A re-read that fails because PostgreSQL is briefly away is retried with
backoff instead of ending the subscription, and a quiet job is re-read about every
RECHECK_S (the backend's sweep sends its channel an event) as a last safety net.

An idle watch holds one suspended generator and broadcaster's queue for it: no timer or
task of its own (5,000 idle watches on one process are the design point).
"""

from __future__ import annotations

import asyncio
import contextvars
import itertools
import logging
import uuid
from collections.abc import AsyncGenerator

from broadcaster import Broadcast

from app.auth import Identity
from app.backoff import Backoff, retry
from app.db import DB_ERRORS
from app.errors import NotFound
from app.events import job_channel
from app.jobs import Job, JobStore

log = logging.getLogger(__name__)
BATCH_MAX = 500  # job ids per statement
REREAD_BACKOFF = Backoff(first_s=0.2, cap_s=5.0)


class JobBatchReader:
    """Re-reads of watched jobs, batched: the watchers woken in one loop tick share one SELECT.

    A burst of 1,000 NOTIFYs, or 5,000 subscriptions opening at once, then costs a few
    statements on one pooled connection instead of one checkout and round trip per watcher
    (which exhausted the pool and, through the ORM, spent half the API's CPU).
    One flusher task runs while reads are pending and ends when none are.
    """

    def __init__(self, jobs: JobStore) -> None:
        self._jobs = jobs
        self._pending: dict[uuid.UUID, list[asyncio.Future[Job | None]]] = {}
        self._flusher: asyncio.Task[None] | None = None

    async def read(self, job_id: uuid.UUID) -> Job | None:
        """The job (any owner), or None; raises what reading the batch raised (the caller retries DB errors)."""
        loop = asyncio.get_running_loop()
        waiter: asyncio.Future[Job | None] = loop.create_future()
        self._pending.setdefault(job_id, []).append(waiter)
        if self._flusher is None:  # a clean context: not the first caller's request id in its logs
            self._flusher = loop.create_task(self._flush(), name="watch-reads", context=contextvars.Context())
        return await waiter

    async def _flush(self) -> None:
        try:
            await asyncio.sleep(0)  # the other watchers woken by the same events join this batch
            while self._pending:
                batch = dict(itertools.islice(self._pending.items(), BATCH_MAX))
                for job_id in batch:
                    del self._pending[job_id]
                await self._read_batch(batch)
        finally:
            self._flusher = None
            _cancel_all(self._pending)  # only when cancelled itself: nobody may wait for a dead flusher
            self._pending = {}

    async def _read_batch(self, batch: dict[uuid.UUID, list[asyncio.Future[Job | None]]]) -> None:
        try:
            jobs = {job.id: job for job in await self._jobs.get_jobs_by_id(list(batch))}
        except asyncio.CancelledError:
            _cancel_all(batch)
            raise
        except Exception as exc:  # noqa: BLE001 - not swallowed: every watcher of the batch raises it
            for waiter in itertools.chain.from_iterable(batch.values()):
                if not waiter.done():
                    waiter.set_exception(exc)
            return
        for job_id, waiters in batch.items():
            for waiter in waiters:
                if not waiter.done():
                    waiter.set_result(jobs.get(job_id))


def _cancel_all(waiting: dict[uuid.UUID, list[asyncio.Future[Job | None]]]) -> None:
    for waiter in itertools.chain.from_iterable(waiting.values()):
        waiter.cancel()


async def read_watched_job(reader: JobBatchReader, identity: Identity, job_id: uuid.UUID) -> Job:
    """The caller's job through the batch; NotFound for a missing or foreign one; retries while the DB is away."""
    job = await retry(lambda: reader.read(job_id), errors=DB_ERRORS, backoff=REREAD_BACKOFF,
                      what=f"job {job_id}: re-read", log=log)
    if job is None or job.user_id != identity.user_id:  # another user's job looks like a missing one
        raise NotFound("no such job")
    return job


async def watch_job(
    reader: JobBatchReader, broadcast: Broadcast, identity: Identity, job_id: uuid.UUID
) -> AsyncGenerator[Job, None]:
    """Yield the caller's job now and after each change of status or progress; end when terminal.
    `reader` is the process's (Resources.watch_reads), so that watchers woken together share a batch."""
    # Subscribe before the first read, so a change between the two is not missed.
    async with broadcast.subscribe(job_channel(job_id)) as subscriber:
        job = await read_watched_job(reader, identity, job_id)
        seen, terminal = (job.status, job.images_done), job.status.terminal
        yield job
        del job  # while idle, keep two values, not the row and its result document
        while not terminal:
            await subscriber.get()  # a NOTIFY, a resync or a recheck: either way, re-read the row
            job = await read_watched_job(reader, identity, job_id)
            if (job.status, job.images_done) != seen:
                seen, terminal = (job.status, job.images_done), job.status.terminal
                yield job
            del job
