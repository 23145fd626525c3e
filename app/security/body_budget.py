"""The per-process memory budget for request bodies, and the per-user count of uploads in flight.

Both are plain counters on the event loop (one API process = one loop): no lock is needed,
since nothing between a check and its update awaits.

BodyBudget counts the memory that request bodies cost while they are read and handled (see
`body_cost`). A request takes its cost before a byte of its body is read and gives it back
when its response is complete or the client is gone; one that does not fit waits at most a
short while, then is refused (503) by the caller. Large bodies may not take the last
`small_reserve` bytes: those stay free for ordinary queries, so a flood of uploads never
queues a `{ me { id } }` behind it.
"""

from __future__ import annotations

import asyncio
import uuid
from collections import deque

MIB = 1024 * 1024
SMALL_BODY_BYTES = 64 * 1024  # larger bodies are uploads: token, per-user count and quota are checked first
# Memory a body costs per byte of it, in quarters, measured on the submit path (docs/security.md,
# "Memory budget"): JSON holds the body, its parsed strings, the decoded images and the copy sent
# to PostgreSQL (4.6 to 5.3 x); multipart spools files past 1 MiB to disk, then holds the images
# and their copy to PostgreSQL (2.0 to 2.2 x).
JSON_COST_QUARTERS = 22
MULTIPART_COST_QUARTERS = 9


def body_cost(size: int, multipart: bool) -> int:
    """The bytes of memory a body of `size` bytes is charged against the budget."""
    return size * (MULTIPART_COST_QUARTERS if multipart else JSON_COST_QUARTERS) // 4


class BodyBudget:
    """Bytes of request bodies read or held at once in this process, up to `total`."""

    def __init__(self, total: int, small_reserve: int) -> None:
        self.total = total
        self.small_reserve = min(small_reserve, total // 2)
        self.used = 0
        self.peak = 0
        self._waiters: deque[tuple[int, bool, asyncio.Future[None]]] = deque()

    @property
    def large_share(self) -> int:
        """The most that large bodies may hold together (and so the most one large body is charged)."""
        return self.total - self.small_reserve

    def _fits(self, cost: int, large: bool) -> bool:
        return self.used + cost <= (self.large_share if large else self.total)

    def _take_now(self, cost: int) -> None:
        self.used += cost
        self.peak = max(self.peak, self.used)

    def try_take(self, cost: int, *, large: bool) -> bool:
        """Take `cost` bytes if they fit now; never waits."""
        if self._fits(cost, large):
            self._take_now(cost)
            return True
        return False

    async def take(self, cost: int, *, large: bool, wait_s: float) -> bool:
        """Take `cost` bytes, waiting at most `wait_s` for room; False (nothing taken) when there was none."""
        if self.try_take(cost, large=large):
            return True
        if wait_s <= 0:
            return False
        waiter: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        entry = (cost, large, waiter)
        self._waiters.append(entry)
        try:
            await asyncio.wait({waiter}, timeout=wait_s)
        except asyncio.CancelledError:
            self._forget(entry, cost)
            raise
        if waiter.done():
            return True
        self._forget(entry, cost)
        return False

    def _forget(self, entry: tuple[int, bool, asyncio.Future[None]], cost: int) -> None:
        """Stop waiting; bytes granted meanwhile (the request is being cancelled) go back."""
        if entry[2].done():
            self.release(cost)
        else:
            self._waiters.remove(entry)
            entry[2].cancel()

    def release(self, cost: int) -> None:
        """Give `cost` bytes back and wake the waiters that now fit, oldest first."""
        self.used -= cost
        for entry in list(self._waiters):
            waiter_cost, large, waiter = entry
            if self._fits(waiter_cost, large):
                self._waiters.remove(entry)
                self._take_now(waiter_cost)
                waiter.set_result(None)


class UploadsInFlight:
    """How many large bodies each user has in flight in this process."""

    def __init__(self, per_user: int) -> None:
        self.per_user = per_user
        self._counts: dict[uuid.UUID, int] = {}

    def try_enter(self, user_id: uuid.UUID) -> bool:
        """Count one more upload of the user's; False (and nothing counted) at the limit."""
        count = self._counts.get(user_id, 0)
        if count >= self.per_user:
            return False
        self._counts[user_id] = count + 1
        return True

    def leave(self, user_id: uuid.UUID) -> None:
        """One upload of the user's is over."""
        count = self._counts.pop(user_id) - 1
        if count:
            self._counts[user_id] = count
