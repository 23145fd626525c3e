"""Scenario 6, priority: a free backlog is queued, then a paid job is submitted; how soon is it DONE?

10,000 free jobs (1,000 with --quick) are preloaded and published; the worker runs with a
1 s recognizer and WORKER_CONCURRENCY=20, so the backlog would take minutes. Once the worker
is saturated, paid jobs are submitted one after another through the API and watched over
the subscription: submit -> DONE. Floor: the recognizer's 1 s (nothing can be faster).
Target: <= 1.5 s.

    .venv/bin/python -m bench.s6_priority [--quick]
"""

from __future__ import annotations

import asyncio
import base64
import time
import uuid
from typing import Any

from bench.common import (
    CpuWindow,
    Stack,
    bench_settings,
    count_finished,
    ensure_bench_topics,
    jpeg_bytes,
    percentiles,
    preload_jobs,
    publish_jobs,
    run_scenario,
    settings_summary,
    start_api,
    start_worker,
    stop_all,
    token_for,
)
from bench.loadgen import LoadGen, graphql_json
from bench.s2_e2e import SUBMIT
from bench.s3_worker import wait_assigned

LATENCY_MS = 1000
CONCURRENCY = 20


def run(stack: Stack, *, quick: bool, profile: bool = False) -> dict[str, Any]:
    backlog = 1000 if quick else 10_000
    paid_jobs = 3 if quick else 12
    image = jpeg_bytes(5_000)

    async def prepare() -> tuple[Any, list[uuid.UUID], float]:
        db = await stack.new_database("s6")
        s = bench_settings(db, stack, fake_recognizer_latency_ms=LATENCY_MS, worker_concurrency=CONCURRENCY)
        await ensure_bench_topics(s)
        ids = await preload_jobs(db, users=[uuid.uuid4() for _ in range(100)], count=backlog, image=image)
        took = await publish_jobs(stack.kafka_bootstrap, s.kafka_topic_free, ids)
        return s, ids, took

    settings, ids, publish_s = asyncio.run(prepare())
    api, api_url = start_api(settings, stack)
    worker = start_worker(settings, stack)
    port = int(api_url.rsplit(":", 1)[1])
    token = token_for(settings, uuid.uuid4(), plan="paid")
    user = {"token": token, "submit": graphql_json(
        SUBMIT, {"images": [{"base64": base64.b64encode(image).decode()}]}, token)}
    cpu = CpuWindow({"api": lambda: [api.proc.pid], "worker": lambda: [worker.proc.pid],
                     "postgres": stack.pg_pids, "broker": stack.broker_pids})
    try:
        wait_assigned([worker])
        time.sleep(3)  # the worker is saturated with free jobs
        free_before = asyncio.run(count_finished(settings.database_url, ids))
        with LoadGen(1) as gen:
            cpu.start()
            start_at = time.monotonic() + 0.5
            result = gen.run("e2e", [{"host": "127.0.0.1", "port": port, "users": [user], "rate": 0,
                                      "jobs": paid_jobs, "duration_s": 120, "http_conns": 1,
                                      "start_at": start_at, "timeout_s": 60}])[0]
            shares = cpu.stop()
        free_after = asyncio.run(count_finished(settings.database_url, ids))
    finally:
        stop_all(api, worker)
    if "crashed" in result:
        raise RuntimeError(result["crashed"])
    total = percentiles(result["total_ms"])
    return {
        "backlog_free_jobs": backlog, "backlog_publish_s": round(publish_s, 1), "paid_jobs": paid_jobs,
        "paid_done": len(result["total_ms"]), "failed": result["failed"], "failures": result["failures"],
        "paid_submit_to_done_ms": total, "paid_after_submit_ms": percentiles(result["after_submit_ms"]),
        "floor_ms": LATENCY_MS, "ratio_to_floor": {k: round(total[k] / LATENCY_MS, 2) for k in ("p50", "max")
                                                   if k in total},
        "free_done_during_window": free_after - free_before, "free_left": backlog - free_after, "cpu_pct": shares,
        "settings": settings_summary(settings, "worker_concurrency", "fake_recognizer_latency_ms", "worker_buffer",
                                     "kafka_fetch_max_wait_ms"),
    }


def summary(result: dict[str, Any]) -> str:
    return (f"paid submit->DONE {result['paid_submit_to_done_ms']} (floor {result['floor_ms']} ms), "
            f"free left {result['free_left']}, failed {result['failed']} {result['failures']}")


if __name__ == "__main__":
    run_scenario("s6_priority", __doc__, run, summary)
