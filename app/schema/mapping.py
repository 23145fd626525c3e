"""Explicit mapping from stored rows and documents to GraphQL types."""

from __future__ import annotations

from typing import Any

import strawberry

from app.jobs import Job
from app.models import User
from app.schema import types as t


def _item(doc: dict[str, Any]) -> t.RecognizedItem:
    box = doc.get("box")
    return t.RecognizedItem(
        name=doc["name"], raw_text=doc["raw_text"], quantity=doc["quantity"], unit=doc["unit"],
        category=doc["category"], confidence=doc["confidence"], image_index=doc["image_index"],
        price=doc.get("price"), unit_price=doc.get("unit_price"), storage_days=doc.get("storage_days"),
        box=[t.Point(x=p[0], y=p[1]) for p in box] if box else None,
    )


def _image(doc: dict[str, Any]) -> t.ImageOutcome:
    return t.ImageOutcome(
        index=doc["index"], status=doc["status"], item_count=doc.get("item_count", 0),
        duration_ms=doc.get("duration_ms", 0), error=doc.get("error"), note=doc.get("note"),
    )


def _receipt(doc: dict[str, Any] | None) -> t.ReceiptSummary | None:
    if doc is None:
        return None
    return t.ReceiptSummary(
        merchant=doc.get("merchant"), purchased_at=doc.get("purchased_at"), currency=doc.get("currency"),
        total=doc.get("total"), total_matches=bool(doc.get("total_matches")),
        subtotal=doc.get("subtotal"), tax=doc.get("tax"), address=doc.get("address"),
    )


def result_to_type(doc: dict[str, Any] | None) -> t.RecognitionResult | None:
    """The stored result document as GraphQL types."""
    if doc is None:
        return None
    return t.RecognitionResult(
        items=[_item(i) for i in doc.get("items", [])],
        images=[_image(i) for i in doc.get("images", [])],
        receipt=_receipt(doc.get("receipt")),
    )


def _confirmed(docs: list[dict[str, Any]] | None) -> list[t.ConfirmedItem] | None:
    if docs is None:
        return None
    return [
        t.ConfirmedItem(name=d["name"], quantity=d["quantity"], unit=d["unit"], category=d["category"],
                        raw_text=d.get("raw_text"), price=d.get("price"))
        for d in docs
    ]


def job_to_type(job: Job) -> t.ProductJob:
    """A job row (app.jobs.Job, from any read or change of the job store) as the GraphQL ProductJob."""
    return t.ProductJob(
        id=strawberry.ID(str(job.id)),
        job_type=t.ProductJobType(job.job_type),
        status=t.ProductJobStatus(job.status),
        lang=job.lang,
        user_plan=t.Plan(job.user_plan),
        image_count=job.image_count,
        images_done=job.images_done,
        result=result_to_type(job.result),
        error=job.error,
        created_at=job.created_at,
        started_at=job.started_at,
        completed_at=job.completed_at,
        confirmed_items=_confirmed(job.confirmed_items),
        confirmed_at=job.confirmed_at,
    )


def user_to_type(user: User) -> t.Me:
    """The caller's row as Me."""
    return t.Me(id=strawberry.ID(str(user.id)), plan=t.Plan(user.plan))
