"""Scenario 7, upload flood (issue 14): memory stays bounded and other users are served.

32 maximum-size multipart submits (10 images of MAX_IMAGE_BYTES) from user A and 8
maximum-size base64 JSON submits (the JSON limit) from user B, all at once, against the
real API with its default limits, while user C asks `{ me { id } }` in a loop from a process
of its own. Floor: the same loop of C's on the same API just before, with nothing else
running. Reported: the API's peak RSS against the target (BODY_BUDGET_BYTES + 256 MiB), C's
latency percentiles and their ratio to the floor (target: p99 under 250 ms), every submit's
outcome by code, and the jobs stored against the submits accepted.

    .venv/bin/python -m bench.s7_flood [--quick]
"""

from __future__ import annotations

import asyncio
import multiprocessing
import time
import uuid
from multiprocessing.synchronize import Event as MpEvent
from typing import Any

import asyncpg

from bench.common import (
    CpuWindow,
    Stack,
    bench_settings,
    percentiles,
    run_scenario,
    settings_summary,
    start_api,
    stop_all,
    token_for,
)
from bench.flood import MIB, FloodResult, flood, me_loop

FLOOR_S = 5.0


def _me_process(url: str, token: str, user_id: str, stop: MpEvent, out: Any) -> None:
    """C's loop in its own process (the uploads' client work does not delay it): latencies to `out`."""
    warm = FloodResult([])
    asyncio.run(me_loop(url, token, user_id, lambda: len(warm.me_ms) >= 20, warm))  # connection up, code warm
    out.put("ready")
    result = FloodResult([])
    asyncio.run(me_loop(url, token, user_id, stop.is_set, result))
    out.put((result.me_ms, warm.me_failures + result.me_failures))


def _with_me_loop(url: str, token: str, user_id: str, body: Any) -> tuple[Any, list[float], list[str]]:
    """Run `body()` while C's loop runs in a child process; its result and C's latencies and failures."""
    ctx = multiprocessing.get_context("spawn")
    stop, out = ctx.Event(), ctx.Queue()
    child = ctx.Process(target=_me_process, args=(url + "/graphql", token, user_id, stop, out))
    child.start()
    try:
        assert out.get(timeout=120) == "ready"
        value = body()
    finally:
        stop.set()
    me_ms, failures = out.get(timeout=60)
    child.join(30)
    return value, me_ms, failures


async def _stored(database_url: str, users: list[uuid.UUID]) -> dict[str, int]:
    conn = await asyncpg.connect(database_url)
    try:
        row = await conn.fetchrow(
            "SELECT (SELECT count(*) FROM product_recognition_jobs WHERE user_id = ANY($1)) AS jobs,"
            " (SELECT coalesce(sum(count), 0) FROM quota_counters WHERE user_id = ANY($1)"
            "  AND window_kind = 'day') AS counted", users)
        assert row is not None
        return dict(row)
    finally:
        await conn.close()


def run(stack: Stack, *, quick: bool, profile: bool = False) -> dict[str, Any]:
    heavy, other = (8, 2) if quick else (32, 8)
    database_url = asyncio.run(stack.new_database("s7"))
    settings = bench_settings(database_url, stack)
    api, url = start_api(settings, stack)
    users = {name: uuid.uuid4() for name in ("a", "b", "me")}
    tokens = {name: token_for(settings, user) for name, user in users.items()}
    me_id = str(users["me"])
    cpu = CpuWindow({"api": lambda: [api.proc.pid], "postgres": stack.pg_pids})
    try:
        _, floor_ms, floor_failures = _with_me_loop(url, tokens["me"], me_id, lambda: time.sleep(FLOOR_S))
        cpu.start()
        result, me_ms, me_failures = _with_me_loop(url, tokens["me"], me_id, lambda: asyncio.run(
            flood(url, api.proc.pid, settings, tokens, me_id, heavy=heavy, other=other, with_me=False)))
        shares = cpu.stop()
    finally:
        stop_all(api)
    stored = asyncio.run(_stored(database_url, [users["a"], users["b"]]))
    accepted = sum(1 for o in result.outcomes if o.job_id)
    floor, during = percentiles(floor_ms), percentiles(me_ms)
    target_mib = (settings.body_budget_bytes + 256 * MIB) / MIB
    return {
        "submits": {"a_multipart": heavy, "b_json": other}, "flood_s": round(result.seconds, 1),
        "outcomes": result.by_code(), "accepted": accepted, "stored": stored,
        "nothing_stored_for_refused": stored == {"jobs": accepted, "counted": accepted},
        "client_errors": [o.code for o in result.outcomes if o.status == 0],
        "rss_mib": {"before": round(result.rss_before / MIB), "peak": round(result.rss_peak / MIB),
                    "target": round(target_mib), "within_target": result.rss_peak / MIB <= target_mib},
        "me_floor_ms": floor, "me_during_flood_ms": during,
        "me_ratio_to_floor": {k: round(during[k] / floor[k], 2) for k in ("p50", "p99") if k in during and floor[k]},
        "me_p99_under_250ms": during.get("p99", float("inf")) < 250,
        "me_failures": (floor_failures + me_failures)[:10], "cpu_pct": shares,
        "settings": settings_summary(settings, "body_budget_bytes", "body_budget_wait_ms", "max_uploads_per_user",
                                     "max_image_bytes", "max_images_per_job", "max_json_request_bytes"),
    }


def summary(result: dict[str, Any]) -> str:
    return (f"outcomes {result['outcomes']}, stored {result['stored']}; RSS {result['rss_mib']}; "
            f"me p99 {result['me_during_flood_ms'].get('p99')} ms (floor {result['me_floor_ms'].get('p99')} ms)")


if __name__ == "__main__":
    run_scenario("s7_flood", __doc__, run, summary)
