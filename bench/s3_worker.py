"""Scenario 3, worker throughput: jobs/s one worker process completes (zero-latency recognizer), then two.

Jobs (one small JPEG each) are inserted as pending and published to Kafka once the workers
hold their partitions; throughput is the completion rate between the 10th and 90th
percentile of completion times (the database's clock), so group joins and the tail do not
count. Floor, before and after: the worker's SQL statements per job in a bare asyncpg loop
(bench.floors sql) at the same concurrency, as its own process.

    .venv/bin/python -m bench.s3_worker [--quick] [--profile]
"""

from __future__ import annotations

import asyncio
import itertools
import json
import subprocess
import sys
import time
import uuid
from typing import Any

from app.embedded.launch import ChildProcess, settings_env
from app.settings import Settings
from bench.common import (
    ROOT,
    CpuWindow,
    Stack,
    bench_settings,
    completion_times,
    ensure_bench_topics,
    jpeg_bytes,
    percentiles,
    preload_jobs,
    profiled,
    publish_jobs,
    run_scenario,
    settings_summary,
    start_worker,
    steady_rate,
    stop_all,
    summarize_profile,
    wait_finished,
)

CONCURRENCY = 20


def wait_assigned(workers: list[ChildProcess], timeout_s: float = 90) -> None:
    """Every worker logged a partition assignment and none has logged another for 3 s (group settled)."""
    deadline = time.monotonic() + timeout_s
    last, stable_since = -1, time.monotonic()
    while time.monotonic() < deadline:
        counts = [w.log().count("assigned partitions") for w in workers]
        for w in workers:
            if w.proc.poll() is not None:
                raise RuntimeError(f"{w.name} exited:\n{w.log()[-3000:]}")
        if sum(counts) != last:
            last, stable_since = sum(counts), time.monotonic()
        if min(counts) >= 1 and time.monotonic() - stable_since >= 3:
            return
        time.sleep(0.2)
    raise TimeoutError("workers did not settle into the group")


def bare_floor(settings: Settings, stack: Stack, ids: list[uuid.UUID], processes: int) -> dict[str, Any]:
    """The bare SQL loop in `processes` processes over disjoint shares of ids; jobs/s together."""
    files = []
    for p in range(processes):
        path = stack.work_dir / f"floor-ids-{uuid.uuid4().hex[:6]}.txt"
        path.write_text("\n".join(str(i) for i in ids[p::processes]))
        files.append(path)
    t0 = time.monotonic()
    procs = [subprocess.Popen([sys.executable, "-m", "bench.floors", "sql", "--ids-file", str(f),
                               "--concurrency", str(CONCURRENCY)], cwd=ROOT, env=settings_env(settings),
                              stdout=subprocess.PIPE, text=True) for f in files]
    outs = [json.loads(p.communicate(timeout=600)[0]) for p in procs]
    wall = time.monotonic() - t0
    return {"jobs": len(ids), "processes": processes, "jobs_per_s": round(sum(o["jobs_per_s"] for o in outs), 1),
            "wall_s": round(wall, 2)}


async def _new_batch(settings: Settings, n: int, image: bytes) -> list[uuid.UUID]:
    users = [uuid.uuid4() for _ in range(20)]
    return await preload_jobs(settings.database_url, users=users, count=n, image=image)


def worker_run(stack: Stack, db: str, n: int, image: bytes, processes: int, profile: str | None = None,
               **overrides: Any) -> dict[str, Any]:
    """Start `processes` workers on fresh topics, publish n preloaded jobs, time their completion."""
    settings = bench_settings(db, stack, worker_concurrency=CONCURRENCY, **overrides)
    asyncio.run(ensure_bench_topics(settings))
    ids = asyncio.run(_new_batch(settings, n, image))
    workers = [start_worker(settings, stack, f"worker-{processes}-{i}") for i in range(processes)]
    cpu = CpuWindow({"workers": lambda: [w.proc.pid for w in workers], "postgres": stack.pg_pids,
                     "broker": stack.broker_pids})
    try:
        wait_assigned(workers)
        with profiled(workers[0].proc.pid, profile or "", bool(profile)):
            cpu.start()
            t0 = time.monotonic()
            asyncio.run(publish_jobs(stack.kafka_bootstrap, settings.kafka_topic_free, ids))
            done = asyncio.run(wait_finished(db, ids, timeout_s=300))
            wall = time.monotonic() - t0
            shares = cpu.stop()
    finally:
        stop_all(*workers)
    times = asyncio.run(completion_times(db, ids))
    starts = sorted(t[0] for t in times)
    gaps = [(b - a) * 1000 for a, b in itertools.pairwise(starts)]
    return {"claim_to_done_ms": percentiles([(t[1] - t[0]) * 1000 for t in times]),
            "gap_between_claims_ms": percentiles(gaps),
            "processes": processes, "jobs": n, "finished": done, "failed": sum(1 for t in times if t[2] != "done"),
            "jobs_per_s": round(steady_rate([t[1] for t in times]), 1), "overall_per_s": round(done / wall, 1),
            "cpu_pct": shares, "settings": settings_summary(settings, "worker_concurrency", "db_pool_size",
                                                             "kafka_topic_partitions", "worker_buffer")}


def run(stack: Stack, *, quick: bool, profile: bool = False) -> dict[str, Any]:
    async def prepare() -> tuple[str, Settings]:
        db = await stack.new_database("s3")
        return db, bench_settings(db, stack)

    db, settings = asyncio.run(prepare())
    image = jpeg_bytes(5_000)
    n = 150 if quick else 3000  # about 5 s per run at 600 jobs/s
    out: dict[str, Any] = {"jobs_per_run": n, "concurrency": CONCURRENCY, "image_bytes": len(image)}
    floor_ids = asyncio.run(_new_batch(settings, n, image))
    floor_a = bare_floor(settings, stack, floor_ids, 1)
    print(f"  floor (bare SQL, 1 process): {floor_a['jobs_per_s']}/s")
    out["one"] = worker_run(stack, db, n, image, 1)
    print(f"  1 worker: {out['one']['jobs_per_s']}/s  cpu {out['one']['cpu_pct']}")
    out["two"] = worker_run(stack, db, n, image, 2)
    print(f"  2 workers: {out['two']['jobs_per_s']}/s  cpu {out['two']['cpu_pct']}")
    floor_ids = asyncio.run(_new_batch(settings, n, image))
    floor_b = bare_floor(settings, stack, floor_ids, 1)
    floor_ids2 = asyncio.run(_new_batch(settings, n, image))
    out["floor_two_processes"] = bare_floor(settings, stack, floor_ids2, 2)
    floor = round((floor_a["jobs_per_s"] + floor_b["jobs_per_s"]) / 2, 1)
    out["floor"] = {"jobs_per_s": floor, "runs": [floor_a, floor_b]}
    out["ratio_one_to_floor"] = round(out["one"]["jobs_per_s"] / floor, 3)
    out["scaling_two_over_one"] = round(out["two"]["jobs_per_s"] / out["one"]["jobs_per_s"], 2)
    if profile:
        worker_run(stack, db, n // 2, image, 1, profile="s3-worker")
        out["profile"] = summarize_profile("s3-worker")
    return out


def summary(result: dict[str, Any]) -> str:
    return (f"floor {result['floor']['jobs_per_s']}/s (2 processes: {result['floor_two_processes']['jobs_per_s']}/s)\n"
            f"one {result['one']['jobs_per_s']}/s = {result['ratio_one_to_floor']} of floor; "
            f"two {result['two']['jobs_per_s']}/s = x{result['scaling_two_over_one']}")


if __name__ == "__main__":
    run_scenario("s3_worker", __doc__, run, summary)
