"""Watching a job: its state now, then every change, until it is DONE or FAILED.

Events only say "look again": every state sent is re-read from the database, so a
lost NOTIFY (LISTEN reconnect), a duplicate, or a burst of them never yields a wrong
or stale state. A re-read that fails because PostgreSQL is briefly away is retried
with backoff instead of ending the subscription, and a quiet job is re-read every
about every RECHECK_S as a last safety net.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import uuid
from collections.abc import AsyncIterator

from broadcaster import Broadcast
from sqlalchemy.exc import SQLAlchemyError

from app.auth import Identity
from app.db import SessionFactory
from app.events import job_channel
from app.models import JobStatus, ProductRecognitionJob
from app.services import queries
from app.services.errors import NotFound

log = logging.getLogger(__name__)
RECHECK_S = 300.0  # jittered per subscription; resync events after a LISTEN loss are the main path


async def _read(sessions: SessionFactory, identity: Identity, job_id: uuid.UUID) -> ProductRecognitionJob:
    delay = 0.2
    while True:
        try:
            job = await queries.get_job(sessions, identity, job_id)
        except (OSError, SQLAlchemyError) as exc:
            log.warning("job %s: re-read failed (%r); retrying in %.1f s", job_id, exc, delay)
            await asyncio.sleep(delay)
            delay = min(delay * 2, 5.0)
            continue
        if job is None:
            raise NotFound("no such job")
        return job


async def watch_job(
    sessions: SessionFactory, broadcast: Broadcast, identity: Identity, job_id: uuid.UUID
) -> AsyncIterator[ProductRecognitionJob]:
    """Yield the caller's job now and after each change of status or progress; end when terminal."""
    # Subscribe before the first read, so a change between the two is not missed.
    async with broadcast.subscribe(job_channel(job_id)) as subscriber:
        job = await _read(sessions, identity, job_id)
        yield job
        seen = (job.status, job.images_done)
        while not JobStatus(job.status).terminal:
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(RECHECK_S * random.uniform(0.5, 1.5)):
                    await subscriber.get()  # a change or a resync: either way, re-read the row
            job = await _read(sessions, identity, job_id)
            if (job.status, job.images_done) != seen:
                seen = (job.status, job.images_done)
                yield job
