"""Jobs read by id in batches, for the subscriptions that watch them (app.services.watch).

Unscoped on purpose: one statement serves the watchers of many users, and the caller
checks each job's owner before showing it.

One fixed statement on the plain asyncpg pool: asyncpg prepares it once per connection,
so a batch is one round trip (the ORM path took four: BEGIN, prepare, execute, ROLLBACK)
and no SQLAlchemy compile, ORM entity or identity map per row.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import asyncpg

# What app.schema.mapping.job_to_type reads; the image list only as its length, never image bytes.
GET_JOBS_BY_ID = (
    "SELECT id, user_id, user_plan, job_type, lang, status, images_done,"
    " jsonb_array_length(images) AS image_count, result::text AS result, error,"
    " created_at, started_at, completed_at, confirmed_items::text AS confirmed_items, confirmed_at"
    " FROM product_recognition_jobs WHERE id = ANY($1::uuid[])"
)


@dataclass(frozen=True, slots=True)
class WatchedJob:
    """A job as its watchers see it (read-only): the columns a ProductJob shows, images as a count."""

    id: uuid.UUID
    user_id: uuid.UUID
    user_plan: str
    job_type: str
    lang: str
    status: str
    images_done: int
    image_count: int
    result: dict[str, Any] | None
    error: str | None
    created_at: datetime
    started_at: datetime | None
    completed_at: datetime | None
    confirmed_items: list[dict[str, Any]] | None
    confirmed_at: datetime | None

    @classmethod
    def from_row(cls, row: asyncpg.Record) -> WatchedJob:
        # the pool has no JSON codec: JSONB arrives as text, decoded only when present
        values = {name: row[name] for name in cls.__slots__}
        for name in ("result", "confirmed_items"):
            if values[name] is not None:
                values[name] = json.loads(values[name])
        return cls(**values)


async def get_jobs_by_id(pool: asyncpg.Pool, *, job_ids: Sequence[uuid.UUID]) -> list[WatchedJob]:
    """The jobs among `job_ids` that exist (any owner), freshly read. Never loads image bytes."""
    return [WatchedJob.from_row(row) for row in await pool.fetch(GET_JOBS_BY_ID, list(job_ids))]
