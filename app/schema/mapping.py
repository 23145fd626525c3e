"""Explicit mapping from job rows and the domain's documents (app.domain) to GraphQL types.

Each function names both sides: the domain type it reads and the GraphQL type it builds.
A row's JSON columns are read once, through `JobResult.from_json` and `ReviewedItem.from_json`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import strawberry

from app.domain import ImageResult, JobResult, JobStatus, JobType, Plan, ReceiptFields, ResultItem, ReviewedItem
from app.jobs import Job
from app.repos.users import UserRecord
from app.schema import types as t


def result_item_to_type(item: ResultItem) -> t.RecognizedItem:
    """A stored ResultItem as a GraphQL RecognizedItem (an empty box shows as null)."""
    return t.RecognizedItem(
        name=item.name, raw_text=item.raw_text, quantity=item.quantity, unit=item.unit,
        category=item.category, confidence=item.confidence, image_index=item.image_index,
        price=item.price, unit_price=item.unit_price, storage_days=item.storage_days,
        box=[t.Point(x=x, y=y) for x, y in item.box] if item.box else None,
    )


def image_result_to_type(image: ImageResult) -> t.ImageOutcome:
    """A stored ImageResult as a GraphQL ImageOutcome."""
    return t.ImageOutcome(
        index=image.index, status=image.status.value, item_count=image.item_count,
        duration_ms=image.duration_ms, error=image.error, note=image.note,
    )


def receipt_fields_to_type(receipt: ReceiptFields) -> t.ReceiptSummary:
    """Stored ReceiptFields as a GraphQL ReceiptSummary."""
    return t.ReceiptSummary(
        merchant=receipt.merchant, purchased_at=receipt.purchased_at, currency=receipt.currency,
        total=receipt.total, total_matches=receipt.total_matches,
        subtotal=receipt.subtotal, tax=receipt.tax, address=receipt.address,
    )


def job_result_to_type(result: JobResult) -> t.RecognitionResult:
    """A JobResult document as a GraphQL RecognitionResult."""
    return t.RecognitionResult(
        items=[result_item_to_type(i) for i in result.items],
        images=[image_result_to_type(i) for i in result.images],
        receipt=None if result.receipt is None else receipt_fields_to_type(result.receipt),
    )


def reviewed_item_to_type(item: ReviewedItem) -> t.ConfirmedItem:
    """A ReviewedItem (one of a job's confirmed items) as a GraphQL ConfirmedItem."""
    return t.ConfirmedItem(name=item.name, quantity=item.quantity, unit=item.unit, category=item.category,
                           raw_text=item.raw_text, price=item.price)


def _result(doc: Mapping[str, Any] | None) -> t.RecognitionResult | None:
    return None if doc is None else job_result_to_type(JobResult.from_json(doc))


def _confirmed(docs: Sequence[Mapping[str, Any]] | None) -> list[t.ConfirmedItem] | None:
    return None if docs is None else [reviewed_item_to_type(i) for i in ReviewedItem.list_from_json(docs)]


def job_to_type(job: Job) -> t.ProductJob:
    """A job row (app.jobs.Job, from any read or change of the job store) as the GraphQL ProductJob."""
    return t.ProductJob(
        id=strawberry.ID(str(job.id)),
        job_type=JobType(job.job_type),
        status=JobStatus(job.status),
        lang=job.lang,
        user_plan=Plan(job.user_plan),
        image_count=job.image_count,
        images_done=job.images_done,
        result=_result(job.result),
        error=job.error,
        created_at=job.created_at,
        started_at=job.started_at,
        completed_at=job.completed_at,
        confirmed_items=_confirmed(job.confirmed_items),
        confirmed_at=job.confirmed_at,
    )


def user_to_type(user: UserRecord) -> t.Me:
    """The caller's row as Me."""
    return t.Me(id=strawberry.ID(str(user.id)), plan=Plan(user.plan))
