"""Subscription resolvers: a job's current state first, then every change, until DONE or FAILED."""

from __future__ import annotations

from collections.abc import AsyncGenerator

import strawberry
from strawberry.types import Info

from app.context import Context
from app.events import job_channel
from app.models import JobStatus
from app.schema.mapping import job_to_type
from app.schema.types import ProductJob
from app.services import queries
from app.services.errors import NotFound

CtxInfo = Info[Context, None]


@strawberry.type
class Subscription:
    @strawberry.subscription(description="The job now, then each change (status, images done); ends when terminal.")
    async def product_job(self, info: CtxInfo, id: strawberry.ID) -> AsyncGenerator[ProductJob, None]:
        ctx = info.context
        identity = ctx.identity()
        job_id = queries.parse_job_id(id)
        sessions = ctx.resources.sessions
        # Subscribe before the first read, so a change between the two is not missed.
        async with ctx.resources.broadcast.subscribe(job_channel(job_id)) as subscriber:
            job = await queries.get_job(sessions, identity, job_id)
            if job is None:
                raise NotFound("no such job")
            yield job_to_type(job)
            seen = (job.status, job.images_done)
            while not JobStatus(job.status).terminal:
                await subscriber.get()  # a change or a resync: either way, re-read the row
                fresh = await queries.get_job(sessions, identity, job_id)
                if fresh is None:
                    raise NotFound("no such job")
                job = fresh
                if (job.status, job.images_done) != seen:
                    seen = (job.status, job.images_done)
                    yield job_to_type(job)
