"""Submission counters per user and fixed window (minute, day), shared by every API process."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from sqlalchemy import text
from sqlmodel.ext.asyncio.session import AsyncSession

WINDOWS = ("minute", "day")

_COUNT = text("""
    INSERT INTO quota_counters AS q (user_id, window_kind, window_start, count)
    SELECT :user_id, k, date_trunc(k, now(), 'UTC'), 1
    FROM unnest(CAST(:kinds AS text[])) WITH ORDINALITY AS w(k, n) ORDER BY n
    ON CONFLICT (user_id, window_kind, window_start) DO UPDATE SET count = q.count + 1
    RETURNING q.window_kind, q.count, CAST(
        ceil(extract(epoch FROM q.window_start + CAST('1 ' || q.window_kind AS interval) - now())) AS integer)
""")
_PRUNE = text("DELETE FROM quota_counters WHERE user_id = :user_id AND window_start < now() - interval '2 days'")


@dataclass(frozen=True, slots=True)
class WindowCount:
    window: str
    count: int
    seconds_left: int


async def count_submission(session: AsyncSession, *, user_id: uuid.UUID) -> list[WindowCount]:
    """Add one submission to the user's current minute and day; the counts after it.

    The rows stay locked until the caller's transaction ends, so concurrent submits of one
    user are counted one after another, and a rollback takes the increment back.
    """
    conn = await session.connection()
    await conn.execute(_PRUNE, {"user_id": user_id})
    rows = await conn.execute(_COUNT, {"user_id": user_id, "kinds": list(WINDOWS)})
    return [WindowCount(window=r[0], count=r[1], seconds_left=max(1, r[2])) for r in rows]
