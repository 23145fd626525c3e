"""Read-only look at a user's quota windows (migration 0002), for the check made before an upload is read.

The count that binds stays in the submit's one statement (app.jobs.store.JobStore.submit): this only
reads, so a large body can be refused from its headers when a window is already full.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass

import asyncpg

_WINDOWS = """
SELECT w.kind, coalesce(q.count, 0) AS count,
       greatest(1, ceil(extract(epoch FROM
           date_trunc(w.kind, now(), 'UTC') + CAST('1 ' || w.kind AS interval) - now())))::integer AS seconds_left,
       coalesce($2, (SELECT u.plan FROM users AS u WHERE u.id = $1), 'free') AS plan
FROM unnest(ARRAY['minute', 'day']) AS w(kind)
LEFT JOIN quota_counters AS q
       ON q.user_id = $1 AND q.window_kind = w.kind AND q.window_start = date_trunc(w.kind, now(), 'UTC')
"""


@dataclass(frozen=True, slots=True)
class WindowCount:
    """Submissions counted in the current window of one kind ('minute', 'day'), and its time left."""

    kind: str
    count: int
    seconds_left: int
    plan: str


async def current_windows(conn: asyncpg.Connection | asyncpg.Pool, *, user_id: uuid.UUID, plan: str | None
                          ) -> list[WindowCount]:
    """The user's minute and day counts now; `plan` (the token's) wins over the stored one, else 'free'."""
    rows = await conn.fetch(_WINDOWS, user_id, plan)
    return [WindowCount(r["kind"], r["count"], r["seconds_left"], r["plan"]) for r in rows]
