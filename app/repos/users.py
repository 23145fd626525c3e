"""Users (provisioned on first sight) and their item aliases."""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from typing import cast

from sqlalchemy import func, literal_column
from sqlalchemy.dialects.postgresql import insert
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from app.models import User, UserItemAlias
from app.recognition.enrich import Alias


async def upsert_user(session: AsyncSession, *, user_id: uuid.UUID, plan: str | None) -> User:
    """Create the user on first sight; a given plan (from the token) overwrites the stored one."""
    stmt = (
        insert(User)
        .values(id=user_id, plan=plan or "free")
        .on_conflict_do_update(
            index_elements=[col(User.id)],
            set_={"plan": func.coalesce(plan, literal_column("users.plan"))},
        )
        .returning(User)
    )
    result = await session.exec(stmt, execution_options={"populate_existing": True})
    return cast(User, result.scalar_one())


async def get_user(session: AsyncSession, *, user_id: uuid.UUID) -> User | None:
    """The user's row, or None when never seen."""
    return await session.get(User, user_id)


async def get_aliases(session: AsyncSession, *, user_id: uuid.UUID) -> dict[str, Alias]:
    """The user's corrections keyed by raw line key."""
    rows = await session.exec(select(UserItemAlias).where(col(UserItemAlias.user_id) == user_id))
    return {r.raw_key: Alias(name=r.name, category=r.category, unit=r.unit) for r in rows}


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
