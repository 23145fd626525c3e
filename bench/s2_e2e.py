"""Scenario 2, end to end: submitReceipt over HTTP -> the subscription receives DONE.

A zero-latency recognizer; one job at a time, then an open-loop 100 jobs/s. Floor, in the
same run (half before, half after the load): a Kafka produce -> consume round trip plus a
NOTIFY -> LISTEN round trip, with the worker's fetch_max_wait_ms.

Tansu answers a fetch only when fetch_max_wait_ms runs out (real Kafka answers when a record
arrives), so this scenario runs with KAFKA_FETCH_MAX_WAIT_MS=5, the latency-tuned setting,
instead of the default 20; docs/configuration.md gives what it costs an idle worker and broker.
With SUBMIT_HINTS (on by default) an idle worker claims a job on its submit's NOTIFY, so the
Kafka hop is off the 1-at-a-time path; the fetch wait still sets the hop of jobs that arrive
while the worker is busy (quick runs at 100 jobs/s: p99 39 to 81 ms at 5 ms, 347 ms at 20).

    .venv/bin/python -m bench.s2_e2e [--quick] [--profile]
"""

from __future__ import annotations

import asyncio
import base64
import time
import uuid
from datetime import datetime
from typing import Any

import asyncpg

from bench.common import (
    CpuWindow,
    Stack,
    bench_settings,
    ensure_bench_topics,
    jpeg_bytes,
    percentiles,
    profiled,
    run_scenario,
    settings_summary,
    start_api,
    start_worker,
    stop_all,
    summarize_profile,
    token_for,
    wait_log,
)
from bench.floors import kafka_rtt, notify_rtt
from bench.loadgen import LoadGen, graphql_json

FETCH_WAIT_MS = 5
SUBMIT = "mutation($images: [ImageInput!]!) { submitReceipt(images: $images) { id status } }"


def users_for(settings: Any, image: bytes, n: int) -> list[dict[str, Any]]:
    variables = {"images": [{"base64": base64.b64encode(image).decode()}]}
    out = []
    for _ in range(n):
        token = token_for(settings, uuid.uuid4())
        out.append({"token": token, "submit": graphql_json(SUBMIT, variables, token)})
    return out


async def floor(settings: Any, n: int) -> dict[str, list[float]]:
    return {"kafka_ms": await kafka_rtt(settings, n), "notify_ms": await notify_rtt(settings.database_url, n)}


async def db_now(database_url: str) -> datetime:
    conn = await asyncpg.connect(database_url)
    try:
        now: datetime = await conn.fetchval("SELECT clock_timestamp()")
        return now
    finally:
        await conn.close()


async def stages(database_url: str, since: datetime) -> dict[str, dict[str, float]]:
    """Where the jobs submitted since `since` spent their time, by the database's clock: submit
    statement start -> claimed (commit, then the hint or the Kafka hop, claim) and claimed -> finished."""
    conn = await asyncpg.connect(database_url)
    try:
        rows = await conn.fetch(
            "SELECT extract(epoch FROM started_at - created_at) * 1000 AS queued,"
            " extract(epoch FROM completed_at - started_at) * 1000 AS processing"
            " FROM product_recognition_jobs WHERE created_at >= $1 AND status = 'done'", since)
    finally:
        await conn.close()
    return {"created_to_claimed": percentiles([float(r["queued"]) for r in rows]),
            "claimed_to_finished": percentiles([float(r["processing"]) for r in rows])}


def e2e(gen: LoadGen, port: int, users: list[dict[str, Any]], *, rate: float, jobs: int, seconds: float,
        procs: int, cpu: CpuWindow) -> dict[str, Any]:
    start_at = time.monotonic() + 1.0
    per_users = max(1, len(users) // procs)
    gen.send("e2e", [{"host": "127.0.0.1", "port": port, "users": users[i * per_users : (i + 1) * per_users],
                      "rate": rate / procs, "jobs": jobs // procs, "duration_s": seconds, "http_conns": 8,
                      "start_at": start_at} for i in range(procs)])
    time.sleep(max(0.0, start_at - time.monotonic()))
    cpu.start()
    results = gen.recv(procs)
    shares = cpu.stop()
    crashed = [r["crashed"] for r in results if "crashed" in r]
    if crashed:
        raise RuntimeError(f"load generator failed: {crashed[0]}")
    wall = max(r["wall_s"] for r in results)
    shares["loadgen"] = round(100 * sum(r["cpu_s"] for r in results) / wall, 1)
    done = sum(len(r["total_ms"]) for r in results)
    return {
        "jobs_done": done, "failed": sum(r["failed"] for r in results), "per_s": round(done / wall, 1),
        "total_ms": percentiles([x for r in results for x in r["total_ms"]]),
        "submit_ms": percentiles([x for r in results for x in r["submit_ms"]]),
        "after_submit_ms": percentiles([x for r in results for x in r["after_submit_ms"]]),
        "cpu_pct": shares, "failures": [f for r in results for f in r["failures"]][:3],
    }


def run(stack: Stack, *, quick: bool, profile: bool = False) -> dict[str, Any]:
    async def prepare() -> Any:
        s = bench_settings(await stack.new_database("s2"), stack, kafka_fetch_max_wait_ms=FETCH_WAIT_MS)
        await ensure_bench_topics(s)
        return s

    settings = asyncio.run(prepare())
    image = jpeg_bytes(5_000)
    api, api_url = start_api(settings, stack)
    worker = start_worker(settings, stack)
    port = int(api_url.rsplit(":", 1)[1])
    n_floor = 50 if quick else 200
    out: dict[str, Any] = {"image_bytes": len(image), "settings": settings_summary(
        settings, "kafka_fetch_max_wait_ms", "worker_concurrency", "db_pool_size", "fake_recognizer_latency_ms")}
    try:
        wait_log(worker, "assigned partitions", 60)
        floor_a = asyncio.run(floor(settings, n_floor // 2))
        cpu = CpuWindow({"api": lambda: [api.proc.pid], "worker": lambda: [worker.proc.pid],
                         "postgres": stack.pg_pids, "broker": stack.broker_pids})
        with LoadGen(2) as gen:
            users = users_for(settings, image, 8)
            e2e(gen, port, users[:1], rate=0, jobs=20, seconds=10, procs=1, cpu=cpu)  # warm-up
            since = asyncio.run(db_now(settings.database_url))
            out["serial"] = e2e(gen, port, users[:1], rate=0, jobs=30 if quick else 300, seconds=40, procs=1,
                                cpu=cpu)
            out["serial"]["stages_ms"] = asyncio.run(stages(settings.database_url, since))
            print(f"  1 at a time: {out['serial']['total_ms']}")
            out["rate_100"] = e2e(gen, port, users, rate=100, jobs=100_000, seconds=2 if quick else 10, procs=2,
                                  cpu=cpu)
            print(f"  100/s: {out['rate_100']['per_s']}/s {out['rate_100']['total_ms']}")
            if profile:
                with profiled(worker.proc.pid, "s2-worker", True), profiled(api.proc.pid, "s2-api", True):
                    e2e(gen, port, users, rate=100, jobs=100_000, seconds=5 if quick else 10, procs=2, cpu=cpu)
                out["profile_worker"] = summarize_profile("s2-worker")
                out["profile_api"] = summarize_profile("s2-api")
        floor_b = asyncio.run(floor(settings, n_floor // 2))
    finally:
        stop_all(api, worker)
    kafka = percentiles(floor_a["kafka_ms"] + floor_b["kafka_ms"])
    notify = percentiles(floor_a["notify_ms"] + floor_b["notify_ms"])
    floor_p = {k: round(kafka[k] + notify[k], 2) for k in ("p50", "p90", "p99")}
    out["floor"] = {"kafka_ms": kafka, "notify_ms": notify, "sum_ms": floor_p}
    for key in ("serial", "rate_100"):
        t = out[key]["total_ms"]
        out[key]["ratio_to_floor"] = {k: round(t[k] / floor_p[k], 2) for k in ("p50", "p99") if k in t}
    return out


def summary(result: dict[str, Any]) -> str:
    lines = [f"floor {result['floor']}"]
    for key in ("serial", "rate_100"):
        r = result[key]
        lines.append(f"{key}: {r['per_s']}/s failed {r['failed']} total {r['total_ms']} submit {r['submit_ms']} "
                     f"ratio {r['ratio_to_floor']} cpu {r['cpu_pct']}")
    return "\n".join(lines)


if __name__ == "__main__":
    run_scenario("s2_e2e", __doc__, run, summary)
