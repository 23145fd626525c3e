"""Mutation resolvers: the arguments to the submit and confirm services, the job to its GraphQL type."""

from __future__ import annotations

import strawberry
from strawberry.types import Info

from app.context import Context
from app.domain import JobType, ReviewedItem
from app.schema.inputs import ConfirmedItemInput, ImageInput
from app.schema.mapping import job_to_type
from app.schema.types import ProductJob
from app.services import confirm, queries, submit

CtxInfo = Info[Context, None]


async def _submit(
    info: CtxInfo, job_type: JobType, images: list[ImageInput], lang: str, idempotency_key: str | None
) -> ProductJob:
    ctx = info.context
    identity = ctx.identity()
    resources = ctx.resources
    job = await submit.submit_photos(
        jobs=resources.jobs, outbox=resources.outbox, settings=resources.settings,
        identity=identity, job_type=job_type, lang=lang, idempotency_key=idempotency_key,
        photos=[submit.Photo(base64=i.base64 or None, upload=i.upload or None) for i in images],
    )
    return job_to_type(job)


@strawberry.type
class Mutation:
    @strawberry.mutation(description="Photos of a shop receipt -> a PENDING job, answered at once.")
    async def submit_receipt(
        self, info: CtxInfo, images: list[ImageInput], lang: str = "en", idempotency_key: str | None = None
    ) -> ProductJob:
        return await _submit(info, JobType.RECEIPT, images, lang, idempotency_key)

    @strawberry.mutation(description="Photos of products -> a PENDING job, answered at once.")
    async def submit_products(
        self, info: CtxInfo, images: list[ImageInput], lang: str = "en", idempotency_key: str | None = None
    ) -> ProductJob:
        return await _submit(info, JobType.PRODUCTS, images, lang, idempotency_key)

    @strawberry.mutation(description="Store the reviewed items of a DONE job; corrections teach later jobs.")
    async def confirm_product_job(
        self, info: CtxInfo, id: strawberry.ID, items: list[ConfirmedItemInput]
    ) -> ProductJob:
        ctx = info.context
        identity = ctx.identity()
        job = await confirm.confirm_job(
            ctx.resources.pool, identity, queries.parse_job_id(id),
            [ReviewedItem(i.name, i.quantity, i.unit, i.category, i.raw_text, i.price) for i in items],
        )
        return job_to_type(job)
