"""Recognition jobs: the job table (its status values are app.domain.JobStatus).

The table is read and written only by the job store (app.jobs), whose row type is app.jobs.Job.
A job's image bytes live apart from the job row, in product_recognition_job_images (migrations/0001),
which has no model: the submit function (migrations/0004) writes it and the claim reads it.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import Column, DateTime, text
from sqlalchemy.dialects.postgresql import JSONB
from sqlmodel import Field, SQLModel

from app.domain import JobStatus


def _tz(nullable: bool = True, default: str | None = None) -> Any:
    return Field(
        default=None,
        sa_column=Column(
            DateTime(timezone=True),
            nullable=nullable,
            server_default=text(default) if default else None,
        ),
    )


class ProductRecognitionJob(SQLModel, table=True):
    __tablename__ = "product_recognition_jobs"

    id: uuid.UUID | None = Field(
        default=None, primary_key=True, sa_column_kwargs={"server_default": text("foodai_uuid_v7()")}
    )
    user_id: uuid.UUID
    user_plan: str
    job_type: str
    images: list[dict[str, Any]] = Field(sa_column=Column(JSONB, nullable=False))
    lang: str = "en"
    status: str = JobStatus.PENDING.value
    images_done: int = 0
    result: dict[str, Any] | None = Field(default=None, sa_column=Column(JSONB))
    error: str | None = None
    created_at: datetime | None = _tz(nullable=False, default="now()")
    started_at: datetime | None = _tz()
    completed_at: datetime | None = _tz()
    published_at: datetime | None = _tz()
    attempts: int = 0
    lease_expires_at: datetime | None = _tz()
    worker_id: str | None = None
    idempotency_key: str | None = None
    confirmed_items: list[dict[str, Any]] | None = Field(default=None, sa_column=Column(JSONB))
    confirmed_at: datetime | None = _tz()
