"""Scenario 4, slow recognizer: 2 s per image, WORKER_CONCURRENCY=200, one worker process.

Ideal throughput is concurrency / latency = 100 jobs/s; the target is >= 90 % of it, with
the worker's memory flat (RSS sampled every second; the slope over the second half is
reported). Jobs are preloaded and published once the worker holds its partitions.

    .venv/bin/python -m bench.s4_slow [--quick]
"""

from __future__ import annotations

import asyncio
import time
import uuid
from typing import Any

from bench.common import (
    CpuWindow,
    RssSampler,
    Stack,
    bench_settings,
    completion_times,
    ensure_bench_topics,
    jpeg_bytes,
    percentiles,
    preload_jobs,
    publish_jobs,
    run_scenario,
    settings_summary,
    start_worker,
    steady_rate,
    stop_all,
    wait_finished,
)
from bench.s3_worker import wait_assigned

LATENCY_MS = 2000
CONCURRENCY = 200


def rss_slope(samples: list[tuple[float, float]]) -> float:
    """MiB per minute over the second half of the samples (least squares)."""
    half = samples[len(samples) // 2 :]
    if len(half) < 3:
        return float("nan")
    n = len(half)
    mx = sum(t for t, _ in half) / n
    my = sum(m for _, m in half) / n
    var = sum((t - mx) ** 2 for t, _ in half)
    return round(60 * sum((t - mx) * (m - my) for t, m in half) / var, 2) if var else float("nan")


def run(stack: Stack, *, quick: bool, profile: bool = False, **overrides: Any) -> dict[str, Any]:
    n = 300 if quick else 2500
    image = jpeg_bytes(5_000)

    async def prepare() -> tuple[Any, list[uuid.UUID]]:
        db = await stack.new_database("s4")
        s = bench_settings(db, stack, fake_recognizer_latency_ms=LATENCY_MS, worker_concurrency=CONCURRENCY,
                           **overrides)
        await ensure_bench_topics(s)
        ids = await preload_jobs(db, users=[uuid.uuid4() for _ in range(50)], count=n, image=image)
        return s, ids

    settings, ids = asyncio.run(prepare())
    worker = start_worker(settings, stack)
    cpu = CpuWindow({"worker": lambda: [worker.proc.pid], "postgres": stack.pg_pids, "broker": stack.broker_pids})
    try:
        wait_assigned([worker])
        with RssSampler(worker.proc.pid) as rss:
            cpu.start()
            t0 = time.monotonic()
            asyncio.run(publish_jobs(stack.kafka_bootstrap, settings.kafka_topic_free, ids))
            done = asyncio.run(wait_finished(settings.database_url, ids, timeout_s=n / 20 + 60))
            wall = time.monotonic() - t0
            shares = cpu.stop()
    finally:
        stop_all(worker)
    times = asyncio.run(completion_times(settings.database_url, ids))
    ideal = CONCURRENCY / (LATENCY_MS / 1000)
    rate = steady_rate([t[1] for t in times])
    mem = [m for _, m in rss.samples]
    return {
        "jobs": n, "finished": done, "failed": sum(1 for t in times if t[2] != "done"),
        "jobs_per_s": round(rate, 1), "overall_per_s": round(done / wall, 1), "ideal_per_s": ideal,
        "ratio_to_ideal": round(rate / ideal, 3),
        "claim_to_done_ms": percentiles([(t[1] - t[0]) * 1000 for t in times]),
        "rss_mib": {"start": mem[0] if mem else None, "peak": max(mem) if mem else None,
                    "end": mem[-1] if mem else None, "slope_mib_per_min_second_half": rss_slope(rss.samples)},
        "rss_samples": rss.samples, "cpu_pct": shares,
        "settings": settings_summary(settings, "worker_concurrency", "fake_recognizer_latency_ms", "db_pool_size",
                                     "worker_buffer", "kafka_topic_partitions"),
    }


def summary(result: dict[str, Any]) -> str:
    return (f"{result['jobs_per_s']}/s of ideal {result['ideal_per_s']}/s = {result['ratio_to_ideal']}; "
            f"rss {result['rss_mib']}; cpu {result['cpu_pct']}")


if __name__ == "__main__":
    run_scenario("s4_slow", __doc__, run, summary)
