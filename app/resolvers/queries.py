"""Query resolvers."""

from __future__ import annotations

import strawberry
from strawberry.types import Info

from app.context import Context
from app.domain import JobStatus, JobType
from app.schema.mapping import job_to_type, user_to_type
from app.schema.types import (
    Me,
    PageInfo,
    ProductJob,
    ProductJobConnection,
    ProductJobEdge,
)
from app.services import queries

CtxInfo = Info[Context, None]


@strawberry.type
class Query:
    @strawberry.field(description="One of the caller's jobs; null when missing or not the caller's.")
    async def product_job(self, info: CtxInfo, id: strawberry.ID) -> ProductJob | None:
        ctx = info.context
        job = await queries.get_job(ctx.resources.jobs, ctx.identity(), queries.parse_job_id(id))
        return job_to_type(job) if job else None

    @strawberry.field(description="The caller's most recent jobs, newest first (1 to 100).")
    async def product_jobs(self, info: CtxInfo, limit: int = 10) -> list[ProductJob]:
        ctx = info.context
        return [job_to_type(j) for j in await queries.recent_jobs(ctx.resources.jobs, ctx.identity(), limit)]

    @strawberry.field(description="The caller's jobs, newest first, a page at a time (keyset pagination).")
    async def product_job_history(
        self,
        info: CtxInfo,
        first: int = 20,
        after: str | None = None,
        job_type: JobType | None = None,
        status: JobStatus | None = None,
    ) -> ProductJobConnection:
        ctx = info.context
        page = await queries.history(
            ctx.resources.jobs, ctx.identity(), first=first, after=after,
            job_type=job_type.value if job_type else None, status=status.value if status else None,
        )
        edges = [ProductJobEdge(cursor=queries.encode_cursor(j), node=job_to_type(j)) for j in page.jobs]
        return ProductJobConnection(
            edges=edges,
            page_info=PageInfo(has_next_page=page.has_next_page, end_cursor=edges[-1].cursor if edges else None),
        )

    @strawberry.field(description="The caller (provisioned on first sight).")
    async def me(self, info: CtxInfo) -> Me:
        ctx = info.context
        return user_to_type(await queries.me(ctx.resources.pool, ctx.identity()))
