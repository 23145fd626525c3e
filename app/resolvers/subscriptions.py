"""Subscription resolvers: a job's current state first, then every change, until DONE or FAILED."""

from __future__ import annotations

from collections.abc import AsyncGenerator
from contextlib import aclosing

import strawberry
from strawberry.types import Info

from app.context import Context
from app.observability import metrics
from app.schema.mapping import job_to_type
from app.schema.types import ProductJob
from app.services import queries
from app.services.watch import watch_job

CtxInfo = Info[Context, None]


@strawberry.type
class Subscription:
    @strawberry.subscription(description="The job now, then each change (status, images done); ends when terminal.")
    async def product_job(self, info: CtxInfo, id: strawberry.ID) -> AsyncGenerator[ProductJob, None]:
        ctx = info.context
        identity = ctx.identity()
        job_id = queries.parse_job_id(id)
        resources = ctx.resources
        metrics.SUBSCRIPTIONS_OPEN.inc()  # counted here, not by a schema extension: no hooks held per operation
        try:  # aclosing: a client leaving while we wait at `yield` unsubscribes now, not when collected
            async with aclosing(watch_job(resources.watch_reads, resources.broadcast, identity, job_id)) as jobs:
                async for job in jobs:
                    typed = job_to_type(job)
                    del job  # an idle subscription waits here: hold the mapped type only, not the row too
                    yield typed
        finally:
            metrics.SUBSCRIPTIONS_OPEN.dec()
