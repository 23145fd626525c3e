"""The submit's one statement (migration 0004's foodai_submit_job), on a plain asyncpg connection.

User upsert, idempotency lookup, quota count and the job with its images are one autocommitted
statement: one round trip and no ORM on the API's busiest path. The old five-round-trip
transaction cost the API about 2 ms of CPU more per submit (docs/benchmarks.md, finding 27).
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

import asyncpg

from app.repos.jobs import NewImage

_SUBMIT = "SELECT id, created_at, user_plan, existing FROM foodai_submit_job({})".format(
    ", ".join(f"${n}" for n in range(1, 14)))
_OVER_QUOTA = "FQ001"  # the SQLSTATE foodai_submit_job raises for a full quota window


@dataclass(frozen=True, slots=True)
class Submitted:
    job_id: uuid.UUID
    created_at: datetime
    user_plan: str
    existing: bool  # the idempotency key was used before: job_id is that job's, nothing was stored


class OverQuota(Exception):
    """A quota window is full; nothing was stored or counted."""

    def __init__(self, window: str, limit: int, seconds_left: int, plan: str) -> None:
        super().__init__(window, limit, seconds_left, plan)
        self.window, self.limit, self.seconds_left, self.plan = window, limit, seconds_left, plan


async def submit(
    conn: asyncpg.Connection,
    *,
    user_id: uuid.UUID,
    plan: str | None,
    job_type: str,
    lang: str,
    images: Sequence[NewImage],
    idempotency_key: str | None,
    limits: Mapping[str, Mapping[str, int]] | None,
    announce: Mapping[str, object] | None = None,
) -> Submitted:
    """Store a pending job for the user (created on first sight; `plan` from the token overwrites the
    stored one), counted against `limits` by plan and window; OverQuota when a window is full.
    With `announce` (app.queue.hints.announcement), NOTIFY the new job to idle workers."""
    try:
        row = await conn.fetchrow(
            _SUBMIT, user_id, plan, job_type, lang, idempotency_key,
            None if limits is None else json.dumps(limits), None if announce is None else json.dumps(announce),
            json.dumps([i.meta() for i in images]),
            [i.index for i in images], [i.mime for i in images], [i.sha256 for i in images],
            [i.size for i in images], [i.data for i in images],
        )
    except asyncpg.PostgresError as exc:
        if exc.sqlstate != _OVER_QUOTA:
            raise
        detail = json.loads(exc.detail)
        raise OverQuota(detail["window"], detail["limit"], detail["seconds_left"], detail["plan"]) from None
    assert row is not None
    return Submitted(row["id"], row["created_at"], row["user_plan"], row["existing"])
