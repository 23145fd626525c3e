"""Users (provisioned on first sight) and their item aliases."""

from __future__ import annotations

import uuid
from collections.abc import Iterable

from sqlalchemy import func, text
from sqlalchemy.dialects.postgresql import insert
from sqlmodel import col
from sqlmodel.ext.asyncio.session import AsyncSession

from app.models import User, UserItemAlias
from app.recognition.enrich import Alias

# Reads when the row is there with that plan: no write, so no commit waiting for the WAL to be flushed
# (behind a large submit's images that wait is seconds long); inserts or updates it otherwise.
_UPSERT_USER = text("""
    WITH current AS (
        SELECT id, plan, created_at FROM users WHERE id = :id AND plan = coalesce(:plan, plan)
    ), written AS (
        INSERT INTO users (id, plan) SELECT :id, coalesce(:plan, 'free') WHERE NOT EXISTS (SELECT FROM current)
        ON CONFLICT (id) DO UPDATE SET plan = coalesce(:plan, users.plan)
        RETURNING id, plan, created_at
    )
    SELECT id, plan, created_at FROM current UNION ALL SELECT id, plan, created_at FROM written
""")


async def upsert_user(session: AsyncSession, *, user_id: uuid.UUID, plan: str | None) -> User:
    """Create the user on first sight; a given plan (from the token) overwrites the stored one.

    Plain SQL on the session's connection: the ORM's insert construct and entity loading
    cost about 1 ms of CPU more per call. The row comes back as a detached User. (A submit
    upserts its user inside foodai_submit_job instead: app.repos.submissions.)
    """
    conn = await session.connection()
    row = (await conn.execute(_UPSERT_USER, {"id": user_id, "plan": plan})).one()
    return User(id=row.id, plan=row.plan, created_at=row.created_at)


async def upsert_aliases(
    session: AsyncSession, *, user_id: uuid.UUID, aliases: Iterable[tuple[str, Alias]]
) -> int:
    """Store or replace aliases; returns how many were written."""
    values = [
        {"user_id": user_id, "raw_key": key, "name": a.name, "category": a.category, "unit": a.unit}
        for key, a in aliases
    ]
    if not values:
        return 0
    stmt = insert(UserItemAlias).values(values)
    stmt = stmt.on_conflict_do_update(
        index_elements=[col(UserItemAlias.user_id), col(UserItemAlias.raw_key)],
        set_={
            "name": stmt.excluded.name,
            "category": stmt.excluded.category,
            "unit": stmt.excluded.unit,
            "updated_at": func.now(),
        },
    )
    await session.exec(stmt)
    return len(values)
