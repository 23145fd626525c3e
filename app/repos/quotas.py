"""Submission counters per user and fixed window (minute, day), shared by every API process."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from sqlalchemy import text
from sqlmodel.ext.asyncio.session import AsyncSession

WINDOWS = ("minute", "day")

# One round trip: count the submission in the current minute and day windows, and, on the
# user's first submission of a new day (its day row was just created), delete the windows
# older than two days. (They used to be deleted by a second statement on every submit.)
_COUNT = text("""
    WITH counted AS (
        INSERT INTO quota_counters AS q (user_id, window_kind, window_start, count)
        SELECT :user_id, k, date_trunc(k, now(), 'UTC'), 1
        FROM unnest(CAST(:kinds AS text[])) WITH ORDINALITY AS w(k, n) ORDER BY n
        ON CONFLICT (user_id, window_kind, window_start) DO UPDATE SET count = q.count + 1
        RETURNING q.window_kind, q.count, q.window_start
    ), pruned AS (
        DELETE FROM quota_counters
        WHERE user_id = :user_id AND window_start < now() - interval '2 days'
          AND EXISTS (SELECT 1 FROM counted WHERE window_kind = 'day' AND count = 1)
    )
    SELECT window_kind, count, CAST(
        ceil(extract(epoch FROM window_start + CAST('1 ' || window_kind AS interval) - now())) AS integer)
    FROM counted
""")


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
    rows = await conn.execute(_COUNT, {"user_id": user_id, "kinds": list(WINDOWS)})
    return [WindowCount(window=r[0], count=r[1], seconds_left=max(1, r[2])) for r in rows]
