"""Reading jobs: one job, the recent list, and keyset-paginated history, always scoped to the caller."""

from __future__ import annotations

import base64
import binascii
import json
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime

import asyncpg

from app.auth import Identity
from app.errors import BadUserInput
from app.jobs import Job, JobStore
from app.repos import users as users_repo
from app.repos.users import UserRecord

MAX_PAGE = 100


def parse_job_id(value: str) -> uuid.UUID:
    """A job id from the client; BadUserInput when it is not a UUID."""
    try:
        return uuid.UUID(value)
    except ValueError as exc:
        raise BadUserInput("id must be a job id (UUID)", field="id") from exc


def encode_cursor(job: Job) -> str:
    """An opaque cursor naming a position in (created_at, id) order."""
    raw = json.dumps([job.created_at.isoformat(), str(job.id)], separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _text(value: object) -> str:
    if not isinstance(value, str):
        raise TypeError("a cursor holds two strings")
    return value


def decode_cursor(cursor: str) -> tuple[datetime, uuid.UUID]:
    """The position a cursor names; BadUserInput for anything we did not issue."""
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        created, job_id = json.loads(raw)
        position = (datetime.fromisoformat(_text(created)), uuid.UUID(_text(job_id)))
    except (binascii.Error, ValueError, TypeError, UnicodeDecodeError, RecursionError) as exc:
        raise BadUserInput("after is not a cursor from this API", field="after") from exc
    if position[0].tzinfo is None:
        raise BadUserInput("after is not a cursor from this API", field="after")
    try:  # year 1 east of UTC or year 9999 west of it has no UTC instant: the database could not take it
        position[0].astimezone(UTC)
    except OverflowError as exc:
        raise BadUserInput("after is not a cursor from this API", field="after") from exc
    return position


async def get_job(jobs: JobStore, identity: Identity, job_id: uuid.UUID) -> Job | None:
    """The caller's job, or None (another user's job looks exactly like a missing one)."""
    return await jobs.get_job(job_id=job_id, user_id=identity.user_id)


async def recent_jobs(jobs: JobStore, identity: Identity, limit: int) -> list[Job]:
    """The caller's newest jobs, 1 <= limit <= 100."""
    if not 1 <= limit <= MAX_PAGE:
        raise BadUserInput(f"limit must be between 1 and {MAX_PAGE}", field="limit")
    return await jobs.history_page(user_id=identity.user_id, limit=limit)


@dataclass(frozen=True, slots=True)
class HistoryPage:
    jobs: list[Job]
    has_next_page: bool


async def history(
    jobs: JobStore,
    identity: Identity,
    *,
    first: int,
    after: str | None,
    job_type: str | None,
    status: str | None,
) -> HistoryPage:
    """One page after `after`; asks for one row more than `first` to know if another page exists."""
    if not 1 <= first <= MAX_PAGE:
        raise BadUserInput(f"first must be between 1 and {MAX_PAGE}", field="first")
    position = decode_cursor(after) if after is not None else None
    rows = await jobs.history_page(
        user_id=identity.user_id, limit=first + 1, after=position, job_type=job_type, status=status
    )
    return HistoryPage(jobs=rows[:first], has_next_page=len(rows) > first)


async def me(pool: asyncpg.Pool, identity: Identity) -> UserRecord:
    """The caller's row, provisioned on first sight (the token's plan, if any, is stored)."""
    return await users_repo.upsert_user(pool, user_id=identity.user_id, plan=identity.plan)
