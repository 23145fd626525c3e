"""Users (provisioned on first sight) and their item aliases, on a plain asyncpg pool or connection."""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

import asyncpg

from app.recognition.enrich import Alias


@dataclass(frozen=True, slots=True)
class UserRecord:
    """A user as stored (the users table; app.models.User is the table's reference, not a row type)."""

    id: uuid.UUID
    plan: str
    created_at: datetime


# Reads when the row is there with that plan: no write, so no commit waiting for the WAL to be flushed
# (behind a large submit's images that wait is seconds long); inserts or updates it otherwise.
_UPSERT_USER = """
    WITH current AS (
        SELECT id, plan, created_at FROM users WHERE id = $1 AND plan = coalesce($2, plan)
    ), written AS (
        INSERT INTO users (id, plan) SELECT $1, coalesce($2, 'free') WHERE NOT EXISTS (SELECT FROM current)
        ON CONFLICT (id) DO UPDATE SET plan = coalesce($2, users.plan)
        RETURNING id, plan, created_at
    )
    SELECT id, plan, created_at FROM current UNION ALL SELECT id, plan, created_at FROM written
"""


_UPSERT_ALIASES = """
    INSERT INTO user_item_aliases AS a (user_id, raw_key, name, category, unit)
    SELECT $1, v.raw_key, v.name, v.category, v.unit
    FROM unnest($2::text[], $3::text[], $4::text[], $5::text[]) AS v(raw_key, name, category, unit)
    ON CONFLICT (user_id, raw_key) DO UPDATE
       SET name = excluded.name, category = excluded.category, unit = excluded.unit, updated_at = now()
"""


async def upsert_user(db: asyncpg.Pool | asyncpg.Connection, *, user_id: uuid.UUID, plan: str | None) -> UserRecord:
    """Create the user on first sight; a given plan (from the token) overwrites the stored one.
    The row comes back as a UserRecord. (A submit upserts its user inside foodai_submit_job
    instead: app.jobs.store.JobStore.submit.)"""
    row = await db.fetchrow(_UPSERT_USER, user_id, plan)
    assert row is not None
    return UserRecord(row["id"], row["plan"], row["created_at"])


async def upsert_aliases(
    db: asyncpg.Pool | asyncpg.Connection, *, user_id: uuid.UUID, aliases: Iterable[tuple[str, Alias]]
) -> int:
    """Store or replace aliases (one per key); returns how many were written."""
    pairs = list(aliases)
    if not pairs:
        return 0
    await db.execute(_UPSERT_ALIASES, user_id, [k for k, _ in pairs], [a.name for _, a in pairs],
                     [a.category for _, a in pairs], [a.unit for _, a in pairs])
    return len(pairs)
