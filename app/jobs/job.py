"""The job as every reader sees it: one frozen row type, and what goes in and comes out with it.

`Job` is what every statement of the job store (app.jobs.store) returns, whether a transition
or a read: the API, the watchers, the worker, its metrics and the GraphQL mapping all take it.
The image list is a count (image bytes live in their own table and are read only by the claim).
The two JSON documents arrive as text and are decoded when read, so a transition that only
needs the status never pays for its result document.

It imports nothing of app but app.domain, so that every layer may read it (the metrics do).
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass, field, fields
from datetime import datetime
from typing import Any

import asyncpg

from app.domain import JobStatus, JobType, Plan


@dataclass(frozen=True, slots=True)
class Job:
    """One recognition job, read-only: the columns a client or the worker needs."""

    id: uuid.UUID
    user_id: uuid.UUID
    user_plan: Plan
    job_type: JobType
    lang: str
    status: JobStatus
    images_done: int
    image_count: int
    attempts: int
    error: str | None
    created_at: datetime
    started_at: datetime | None
    completed_at: datetime | None
    confirmed_at: datetime | None
    result_json: str | None = field(default=None, repr=False)  # the stored result document, as JSON text
    confirmed_items_json: str | None = field(default=None, repr=False)  # the user's reviewed items, as JSON text

    @property
    def result(self) -> dict[str, Any] | None:
        """The result document (app.services.processing writes it), decoded on each read; None until finished."""
        return None if self.result_json is None else json.loads(self.result_json)

    @property
    def confirmed_items(self) -> list[dict[str, Any]] | None:
        """The reviewed item list of the last confirm, decoded on each read; None before any."""
        return None if self.confirmed_items_json is None else json.loads(self.confirmed_items_json)

    @classmethod
    def from_row(cls, row: asyncpg.Record) -> Job:
        """The job from a row of app.jobs.queries.COLUMNS (extra columns are ignored)."""
        values = [row[name] for name in COLUMN_NAMES]
        for index, enum in _ENUMS:
            values[index] = enum(values[index])
        return cls(*values)


COLUMN_NAMES = tuple(f.name for f in fields(Job))
"""Job's fields in order: the names of app.jobs.queries.COLUMNS."""
_ENUMS = [(COLUMN_NAMES.index(name), enum) for name, enum in
          (("user_plan", Plan), ("job_type", JobType), ("status", JobStatus))]


@dataclass(frozen=True, slots=True)
class NewImage:
    """One uploaded image, as a submit stores it."""

    index: int
    mime: str
    sha256: str
    size: int
    data: bytes

    def meta(self) -> dict[str, Any]:
        """The image's entry in the job's `images` column (everything but the bytes)."""
        return {"index": self.index, "mime": self.mime, "size": self.size, "sha256": self.sha256}


@dataclass(frozen=True, slots=True)
class StoredImage:
    """One image of a claimed job, with its bytes."""

    index: int
    mime: str
    data: bytes


@dataclass(frozen=True, slots=True)
class Submission:
    """What a submit stored: the job, or with `existing` the earlier job of the same idempotency key."""

    job: Job
    existing: bool


class OverQuota(Exception):
    """A quota window is full; nothing was stored or counted."""

    def __init__(self, window: str, limit: int, seconds_left: int, plan: str) -> None:
        super().__init__(window, limit, seconds_left, plan)
        self.window, self.limit, self.seconds_left, self.plan = window, limit, seconds_left, plan
