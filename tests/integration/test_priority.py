"""Paid before free: a paid job starts at once behind free jobs that fill the worker."""

from __future__ import annotations

import asyncio
import uuid
from pathlib import Path

import asyncpg

from tests.stack import wait_statuses
from tests.support import new_user, scripted_image


async def _wait_status_counts(db: asyncpg.Connection, ids: list[str], want: dict[str, int]) -> None:
    """Poll until the jobs' statuses are counted exactly as `want`; the timeout bounds it."""
    async with asyncio.timeout(60):
        while True:
            rows = await db.fetch("SELECT status, count(*) AS n FROM product_recognition_jobs WHERE id = ANY($1) "
                                  "GROUP BY status", [uuid.UUID(i) for i in ids])
            if {r["status"]: r["n"] for r in rows} == want:
                return
            await asyncio.sleep(0.05)


async def test_free_jobs_leave_the_reserved_slot_to_a_paid_job(stack_factory, tmp_path: Path) -> None:
    stack = stack_factory(worker_concurrency=2, worker_paid_reserved=1)
    db = await stack.db()
    await stack.start_api()
    gate = tmp_path / "gate"
    free_user, paid_user = new_user(stack.settings, plan="free"), new_user(stack.settings, plan="paid")
    free = [(await stack.submit(free_user, scripted_image(f"ITEM{i}*1*pcs*1") + f"FOODAI-GATE:{gate}\n".encode()))["id"]
            for i in range(2)]
    worker = stack.start_worker_in_process()
    await _wait_status_counts(db, free, {"processing": 1, "pending": 1})  # one slot is kept for paid work

    paid = (await stack.submit(paid_user, scripted_image("MILK 1L*1*l*1.19")))["id"]
    assert await wait_statuses(db, [paid], {"done", "failed"}) == {paid: "done"}
    await _wait_status_counts(db, free, {"processing": 1, "pending": 1})  # the free backlog still waits

    gate.touch()
    assert await wait_statuses(db, free, {"done", "failed"}) == dict.fromkeys(free, "done")
    assert await worker.stop() == 0
    assert worker.stats.as_dict() == {"claimed": 3, "duplicates": 0, "poison": 0, "finished": 3, "released": 0}
