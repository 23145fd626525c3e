"""Load scenarios (issue 4: 9 and 10): membership changes under a burst, and a soak with failures."""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import os
import time
import uuid

import asyncpg
import httpx
import psutil
import pytest

from tests.stack import terminate, wait_logged, wait_statuses, worker_stats
from tests.support import new_user, scripted_image


async def _count_done(db: asyncpg.Connection, ids: list[uuid.UUID]) -> int:
    return int(await db.fetchval(
        "SELECT count(*) FROM product_recognition_jobs WHERE id = ANY($1) AND status IN ('done', 'failed')", ids))


async def _wait_done_at_least(db: asyncpg.Connection, ids: list[uuid.UUID], n: int) -> None:
    async with asyncio.timeout(120):
        while await _count_done(db, ids) < n:
            await asyncio.sleep(0.1)


async def test_9_a_consumer_joins_and_one_leaves_during_a_burst_of_500_jobs(
    stack_factory
) -> None:
    stack = stack_factory(fake_recognizer_latency_ms=20, worker_concurrency=10)
    db = await stack.db()
    await stack.start_api()
    user = new_user(stack.settings)
    first = stack.start_worker()
    semaphore = asyncio.Semaphore(20)

    async def submit(i: int) -> str:
        async with semaphore:
            return str((await stack.submit(user, scripted_image(f"ITEM{i}*1*pcs*1")))["id"])

    ids = await asyncio.gather(*(submit(i) for i in range(500)))
    uuids = [uuid.UUID(i) for i in ids]
    await _wait_done_at_least(db, uuids, 100)
    second = stack.start_worker()
    # joined (the rebalance is done) before the first leaves: a SIGTERM during its imports would kill it
    await wait_logged(second, "assigned partitions")
    await _wait_done_at_least(db, uuids, 300)
    assert terminate(first) == 0
    assert await wait_statuses(db, ids, {"done", "failed"}, deadline_s=180) == dict.fromkeys(ids, "done")
    assert terminate(second) == 0
    stats = [worker_stats(first), worker_stats(second)]
    rows = await db.fetch(
        "SELECT attempts, jsonb_array_length(result->'items') AS n FROM product_recognition_jobs WHERE id = ANY($1)",
        uuids)
    assert {r["n"] for r in rows} == {1}
    assert sum(s["finished"] for s in stats) == 500
    # a job is claimed once, plus once more for each release by the leaving worker
    assert sum(s["claimed"] for s in stats) == 500 + stats[0]["released"]
    assert sum(r["attempts"] for r in rows) == 500 + stats[0]["released"]


def _fails(image: bytes, rate: float) -> bool:
    """The fake recognizer's failure rule (app.recognition.fake): decided by the image's hash."""
    return int.from_bytes(hashlib.sha256(image).digest()[:4], "big") / 2**32 < rate


def _api_fds(pid: int) -> int:
    return psutil.Process(pid).num_fds()


async def _connections(db: asyncpg.Connection) -> int:
    return int(await db.fetchval(
        "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND application_name LIKE 'foodai%'"))


async def _quiescent_counts(stack, db: asyncpg.Connection, ids: list[str], at_most: tuple[int, int] | None = None,
                            ) -> tuple[int, int]:
    """API file descriptors and foodai database connections at rest: every job so far terminal and
    the test's keep-alive HTTP connections closed. With `at_most`, wait (bounded) until the counts
    come down to it, since the server closes its side of each client socket asynchronously."""
    await wait_statuses(db, ids, {"done", "failed"}, deadline_s=300)
    await stack.api.client.aclose()
    stack.api.client = httpx.AsyncClient(timeout=30)
    counts = (_api_fds(stack.api_child.proc.pid), await _connections(db))
    with contextlib.suppress(TimeoutError):
        async with asyncio.timeout(10):
            while at_most is not None and (counts[0] > at_most[0] or counts[1] > at_most[1]):
                await asyncio.sleep(0.1)
                counts = (_api_fds(stack.api_child.proc.pid), await _connections(db))
    return counts


@pytest.mark.slow
async def test_10_soak_20_submitters_with_10_percent_recognizer_failures(stack_factory) -> None:
    """Every accepted job ends terminal, exactly as predicted, and nothing leaks.

    Leaks are judged at rest: after a warm-up burst that fills both processes' connection
    pools, and again after the soak; pools keep at most DB_POOL_SIZE idle connections, so
    the second count must not exceed the first.
    """
    duration_s = float(os.environ.get("FOODAI_SOAK_S", "60"))
    stack = stack_factory(fake_recognizer_failure_rate=0.1, worker_concurrency=20)
    db = await stack.db()
    await stack.start_api()
    worker = stack.start_worker()
    assert stack.api_child is not None
    users = [new_user(stack.settings) for _ in range(20)]
    accepted: dict[str, bytes] = {}

    async def submit(n: int, i: int) -> None:
        image = scripted_image(f"U{n}I{i}*1*pcs*1")
        accepted[(await stack.submit(users[n], image))["id"]] = image

    await asyncio.gather(*(submit(n % 20, -1 - n) for n in range(100)))  # warm-up: 100 at once
    baseline = await _quiescent_counts(stack, db, list(accepted))
    deadline = time.monotonic() + duration_s

    async def submitter(n: int) -> None:
        i = 0
        while time.monotonic() < deadline:
            await submit(n, i)
            i += 1

    await asyncio.gather(*(submitter(n) for n in range(20)))
    ids = list(accepted)
    after = await _quiescent_counts(stack, db, ids, at_most=baseline)
    final = dict(await db.fetch("SELECT id::text, status FROM product_recognition_jobs WHERE id = ANY($1)",
                                [uuid.UUID(i) for i in ids]))
    expected = {job_id: "failed" if _fails(image, 0.1) else "done" for job_id, image in accepted.items()}
    assert final == expected
    failed = sum(1 for s in final.values() if s == "failed")
    assert len(final) == len(ids) == failed + sum(1 for s in final.values() if s == "done")
    assert after[0] <= baseline[0] and after[1] <= baseline[1], (baseline, after)
    assert terminate(worker) == 0
    print(f"soak: {len(ids)} jobs accepted, {failed} failed as predicted; fds/connections {baseline} -> {after}")
