"""Shared benchmark plumbing: servers, foodai processes, test data, samplers, results.

Servers: `DATABASE_URL` / `KAFKA_BOOTSTRAP_SERVERS` name existing ones (a fresh database is
created per scenario); without them an embedded PostgreSQL and Tansu broker are started
(127.0.0.1 only). The API and worker run from their real entrypoints (`app.cli serve`,
`app.worker`) as child processes with settings passed through the environment, started by the
launcher the test suite uses too (app.embedded.launch). Load comes from separate processes
(bench.loadgen), never from the process that measures.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import io
import json
import os
import platform
import random
import resource
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import asyncpg
import psutil
from aiokafka import AIOKafkaProducer
from PIL import Image

from app.auth import issue_token
from app.embedded import EmbeddedBroker, EmbeddedPostgres, ensure_database
from app.embedded.launch import ChildProcess, start_child, wait_ready
from app.embedded.launch import start_api as launch_api
from app.embedded.launch import start_worker as launch_worker
from app.migrate import migrate
from app.settings import Settings

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results"
BENCH_SECRET = "bench-secret-" + "x" * 32


# ---------------------------------------------------------------- command line


def parse_args(description: str, argv: Sequence[str] | None = None) -> argparse.Namespace:
    """`--quick` (a short smoke run) and `--profile` (py-spy on the measured process)."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--quick", action="store_true", help="short smoke run (seconds, not minutes)")
    parser.add_argument("--profile", action="store_true", help="record a py-spy profile of the process under test")
    return parser.parse_args(argv)


def raise_nofile() -> None:
    """Raise the open-files soft limit to the hard limit; children (API, load generators) inherit it."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < hard:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))


# ---------------------------------------------------------------- servers


@dataclass
class Stack:
    """PostgreSQL server URL and Kafka bootstrap servers, plus a scratch directory for logs."""

    pg_server_url: str
    kafka_bootstrap: str
    work_dir: Path
    postmaster_pid: int | None = None
    broker_pid: int | None = None
    databases: list[str] = field(default_factory=list)  # created by new_database, dropped by the next call

    async def new_database(self, label: str) -> str:
        """A fresh, migrated database for one scenario, on a quiet server.

        The databases of earlier scenarios are dropped and a CHECKPOINT is taken first:
        scenario 1 alone writes hundreds of MB of WAL, and the checkpoint and the autovacuum
        of its tables would otherwise run during the next scenario's measurements."""
        name = f"foodai_bench_{label}_{uuid.uuid4().hex[:8]}"
        conn = await asyncpg.connect(self.pg_server_url)
        try:
            for old in self.databases:
                await conn.execute(f'DROP DATABASE IF EXISTS "{old}" WITH (FORCE)')
            self.databases.clear()
            await conn.execute("CHECKPOINT")
        finally:
            await conn.close()
        url = await ensure_database(self.pg_server_url, name)
        self.databases.append(name)
        await migrate(url)
        return url

    def pg_pids(self) -> list[int]:
        """The postmaster and its backends (for CPU accounting), when we started it."""
        if self.postmaster_pid is None:
            return []
        with contextlib.suppress(psutil.Error):
            proc = psutil.Process(self.postmaster_pid)
            return [proc.pid, *(c.pid for c in proc.children())]
        return []

    def broker_pids(self) -> list[int]:
        return [self.broker_pid] if self.broker_pid else []


@contextlib.contextmanager
def open_stack() -> Iterator[Stack]:
    """The servers named by the environment, or embedded ones started (and stopped) here."""
    raise_nofile()
    work = Path(tempfile.mkdtemp(prefix="foodai-bench-"))
    try:
        with contextlib.ExitStack() as stack:
            pg_url, pg_pid = os.environ.get("DATABASE_URL"), None
            if not pg_url:
                pg = stack.enter_context(EmbeddedPostgres(work / "pg", settings={"max_connections": "300"}))
                pg_url, pg_pid = pg.url, _pid_of(pg)
            kafka, broker_pid = os.environ.get("KAFKA_BOOTSTRAP_SERVERS"), None
            if not kafka:
                broker = stack.enter_context(EmbeddedBroker(work / "broker"))
                kafka, broker_pid = broker.bootstrap_servers, _pid_of(broker)
            yield Stack(pg_url, kafka, work, pg_pid, broker_pid)
    finally:
        shutil.rmtree(work, ignore_errors=True)


def _pid_of(server: EmbeddedPostgres | EmbeddedBroker) -> int | None:
    return server.pid


def bench_settings(database_url: str, stack: Stack, **overrides: object) -> Settings:
    """Settings for the API and worker under test: fake recognizer, this run's topics and group."""
    run = uuid.uuid4().hex[:8]
    values: dict[str, object] = {
        "app_env": "test",
        "database_url": database_url,
        "kafka_bootstrap_servers": stack.kafka_bootstrap,
        "kafka_topic_paid": f"bench.{run}.paid",
        "kafka_topic_free": f"bench.{run}.free",
        "kafka_topic_partitions": 6,
        "kafka_group_id": f"bench-{run}",
        "jwt_secret": BENCH_SECRET,
        "recognizer_receipt": "fake",
        "recognizer_products": "fake",
        "worker_republish_after_s": 3600.0,  # preloaded jobs are published by the benchmark itself
        # load comes from few users: per-user quotas (issue 5) would refuse it; unknown names are ignored
        "quota_free_per_minute": 10_000_000, "quota_free_per_day": 10_000_000,
        "quota_paid_per_minute": 10_000_000, "quota_paid_per_day": 10_000_000,
        "data_dir": str(stack.work_dir / "data"),
        "log_format": "json",  # as production logs; the console renderer (pygments) is a dev-only cost
    }
    values.update(overrides)
    return Settings(**values)  # type: ignore[arg-type]


# ---------------------------------------------------------------- foodai processes


def start_api(settings: Settings, stack: Stack, name: str = "api") -> tuple[ChildProcess, str]:
    """The real API entrypoint on a free port, ready (GET /readyz is 200)."""
    child, url = launch_api(name, settings, stack.work_dir)
    asyncio.run(wait_ready(child, url))
    return child, url


def start_module(name: str, module_args: list[str], settings: Settings, stack: Stack) -> ChildProcess:
    """Any `python -m` entrypoint with these settings in its environment (the worker, the bare floors)."""
    return start_child(name, module_args, settings, stack.work_dir)


def start_worker(settings: Settings, stack: Stack, name: str = "worker") -> ChildProcess:
    """The real worker entrypoint (not waited for: see `wait_log` for its partition assignment)."""
    return launch_worker(name, settings, stack.work_dir)


def wait_log(child: ChildProcess, needle: str, timeout_s: float = 60, count: int = 1) -> None:
    """Wait until the child's log contains `needle` `count` times (e.g. the consumer's partition assignment)."""
    deadline = time.monotonic() + timeout_s
    while child.log().count(needle) < count:
        if child.proc.poll() is not None:
            raise RuntimeError(f"{child.name} exited {child.proc.returncode}:\n{child.log()[-3000:]}")
        if time.monotonic() > deadline:
            raise TimeoutError(f"{child.name}: no {needle!r} in {timeout_s} s:\n{child.log()[-3000:]}")
        time.sleep(0.1)


def stop_all(*children: ChildProcess | None) -> None:
    for child in children:
        if child is not None:
            child.stop(timeout=30)


# ---------------------------------------------------------------- test data


def jpeg_bytes(target_size: int, seed: int = 7) -> bytes:
    """A real JPEG of about `target_size` bytes (noise compresses badly, so size follows pixels)."""
    rng = random.Random(seed)
    side = 64
    while True:
        img = Image.frombytes("RGB", (side, side), rng.randbytes(side * side * 3))
        buf = io.BytesIO()
        img.save(buf, format="JPEG", quality=85)
        if buf.tell() >= target_size:
            return buf.getvalue()
        side = int(side * max(1.1, (target_size / buf.tell()) ** 0.5))


def token_for(settings: Settings, user_id: uuid.UUID, plan: str = "free") -> str:
    return issue_token(settings, user_id=user_id, plan=plan)


async def preload_jobs(
    database_url: str, *, users: Sequence[uuid.UUID], count: int, image: bytes, plan: str = "free",
    status: str = "pending",
) -> list[uuid.UUID]:
    """Insert `count` jobs (one image each) round-robin over `users`, as published; their ids, in order."""
    import hashlib

    conn = await asyncpg.connect(database_url)
    try:
        await conn.executemany(
            "INSERT INTO users (id, plan) VALUES ($1, $2) ON CONFLICT (id) DO NOTHING", [(u, plan) for u in users]
        )
        meta = json.dumps([{"index": 0, "mime": "image/jpeg", "size": len(image),
                            "sha256": hashlib.sha256(image).hexdigest()}])
        ids: list[uuid.UUID] = []
        for start in range(0, count, 1000):
            rows = [(users[i % len(users)], plan, meta, status) for i in range(start, min(count, start + 1000))]
            got = await conn.fetch(
                """INSERT INTO product_recognition_jobs (user_id, user_plan, job_type, images, status, published_at)
                   SELECT u, p, 'receipt', m::jsonb, s, now()
                   FROM unnest($1::uuid[], $2::text[], $3::text[], $4::text[]) AS t(u, p, m, s)
                   RETURNING id""",
                [r[0] for r in rows], [r[1] for r in rows], [r[2] for r in rows], [r[3] for r in rows],
            )
            ids.extend(r["id"] for r in got)
        sha = hashlib.sha256(image).hexdigest()
        await conn.copy_records_to_table(
            "product_recognition_job_images", columns=["job_id", "index", "mime", "sha256", "size", "data"],
            records=[(i, 0, "image/jpeg", sha, len(image), image) for i in ids],
        )
    finally:
        await conn.close()
    return ids


async def publish_jobs(bootstrap: str, topic: str, ids: Sequence[uuid.UUID], plan: str = "free") -> float:
    """Publish job messages for `ids` (batched); returns the seconds it took."""
    from app.queue.messages import JobMessage

    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all", linger_ms=5)
    await producer.start()
    started = time.perf_counter()
    try:
        for start in range(0, len(ids), 2000):
            futures = [
                await producer.send(topic, JobMessage(i, "receipt", plan).encode(), key=str(i).encode())
                for i in ids[start : start + 2000]
            ]
            await asyncio.gather(*futures)
    finally:
        await producer.stop()
    return time.perf_counter() - started


async def ensure_bench_topics(settings: Settings) -> None:
    from app.queue.producer import ensure_job_topics

    await ensure_job_topics(settings)


async def completion_times(database_url: str, ids: Sequence[uuid.UUID]) -> list[tuple[float, float, str]]:
    """(started_at, completed_at) as epoch seconds, and status, of the given jobs that finished."""
    conn = await asyncpg.connect(database_url)
    try:
        rows = await conn.fetch(
            "SELECT extract(epoch FROM started_at) s, extract(epoch FROM completed_at) c, status "
            "FROM product_recognition_jobs WHERE id = ANY($1::uuid[]) AND completed_at IS NOT NULL",
            list(ids),
        )
    finally:
        await conn.close()
    return [(float(r["s"]), float(r["c"]), r["status"]) for r in rows]


async def count_finished(database_url: str, ids: Sequence[uuid.UUID]) -> int:
    conn = await asyncpg.connect(database_url)
    try:
        return int(await conn.fetchval(
            "SELECT count(*) FROM product_recognition_jobs WHERE id = ANY($1::uuid[]) AND completed_at IS NOT NULL",
            list(ids),
        ))
    finally:
        await conn.close()


async def wait_finished(database_url: str, ids: Sequence[uuid.UUID], timeout_s: float) -> int:
    """Poll until every job finished or the timeout passes; the number finished."""
    deadline = time.monotonic() + timeout_s
    done = 0
    while time.monotonic() < deadline:
        done = await count_finished(database_url, ids)
        if done >= len(ids):
            break
        await asyncio.sleep(0.5)
    return done


def steady_rate(completed: Sequence[float], lo: float = 0.1, hi: float = 0.9) -> float:
    """Completions per second between the lo and hi quantiles of completion time (startup and tail cut)."""
    times = sorted(completed)
    if len(times) < 10:
        return float("nan")
    a, b = times[int(lo * (len(times) - 1))], times[int(hi * (len(times) - 1))]
    return (int(hi * (len(times) - 1)) - int(lo * (len(times) - 1))) / (b - a) if b > a else float("nan")


# ---------------------------------------------------------------- measuring


def percentiles(values: Sequence[float]) -> dict[str, float]:
    """count, mean, p50, p90, p99, max of a sample (ms in, ms out)."""
    if not values:
        return {"count": 0}
    ordered = sorted(values)
    n = len(ordered)

    def q(p: float) -> float:
        return round(ordered[min(n - 1, int(p * n))], 2)

    return {"count": n, "mean": round(sum(ordered) / n, 2), "p50": q(0.50), "p90": q(0.90), "p99": q(0.99),
            "max": round(ordered[-1], 2)}


class CpuWindow:
    """CPU used by groups of processes between start() and stop(), in % of one core (the machine
    has os.cpu_count() cores; "machine" is the whole box's busy share on the same scale).

    Groups are callables returning pids, evaluated at start() and stop(): a pid born in the
    window counts whole, one that died in it is lost (PostgreSQL backends come and go).
    """

    def __init__(self, groups: dict[str, Callable[[], list[int]]]) -> None:
        self._groups = groups
        self._start: dict[str, dict[int, float]] = {}
        self._t0 = 0.0
        self._machine0 = 0.0

    @staticmethod
    def _cpu(pids: list[int]) -> dict[int, float]:
        out: dict[int, float] = {}
        for pid in pids:
            with contextlib.suppress(psutil.Error):
                t = psutil.Process(pid).cpu_times()
                out[pid] = t.user + t.system
        return out

    @staticmethod
    def _busy() -> float:
        t = psutil.cpu_times()
        return t.user + t.nice + t.system + t.irq + t.softirq + getattr(t, "steal", 0.0)

    def start(self) -> None:
        self._t0 = time.monotonic()
        self._machine0 = self._busy()
        self._start = {k: self._cpu(f()) for k, f in self._groups.items()}

    def stop(self) -> dict[str, float]:
        wall = time.monotonic() - self._t0
        out: dict[str, float] = {}
        for k, before in self._start.items():
            after = self._cpu(self._groups[k]())  # pids born in the window count whole
            out[k] = round(100 * sum(after[p] - before.get(p, 0.0) for p in after) / wall, 1)
        out["machine"] = round(100 * (self._busy() - self._machine0) / wall, 1)
        return out


class RssSampler:
    """Samples a process's RSS every `interval_s` in a thread: `samples` (seconds, MiB) for
    memory-over-time plots, and `before` and `peak` in bytes for budgets."""

    def __init__(self, pid: int, interval_s: float = 1.0) -> None:
        self._proc = psutil.Process(pid)
        self._interval = interval_s
        self._stop = threading.Event()
        self.samples: list[tuple[float, float]] = []
        self.before = self.peak = self._proc.memory_info().rss
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._t0 = time.monotonic()

    def _run(self) -> None:
        while not self._stop.is_set():
            with contextlib.suppress(psutil.Error):
                rss = self._proc.memory_info().rss
                self.peak = max(self.peak, rss)
                self.samples.append((round(time.monotonic() - self._t0, 2), round(rss / 2**20, 2)))
            self._stop.wait(self._interval)

    def __enter__(self) -> RssSampler:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()


def py_spy() -> str | None:
    """The py-spy executable: on PATH, else beside this Python (the bench extra installs it there); None
    when neither has it."""
    beside = Path(sys.executable).parent / "py-spy"
    return shutil.which("py-spy") or (str(beside) if beside.exists() else None)


@contextlib.contextmanager
def profiled(pid: int, name: str, enabled: bool, rate: int = 250) -> Iterator[None]:
    """py-spy on `pid` while the block runs: collapsed stacks to bench/results/profile-<name>.txt."""
    if not enabled:
        yield
        return
    RESULTS.mkdir(parents=True, exist_ok=True)
    out = RESULTS / f"profile-{name}.txt"
    spy = py_spy() or "py-spy"  # missing: Popen raises FileNotFoundError naming it
    proc = subprocess.Popen(
        [spy, "record", "--pid", str(pid), "--format", "raw", "--rate", str(rate), "--output", str(out),
         "--nonblocking"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    try:
        yield
    finally:
        proc.send_signal(2)  # SIGINT: py-spy writes its output and exits
        try:
            proc.wait(30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


# ---------------------------------------------------------------- results


def machine() -> dict[str, Any]:
    """Where the numbers came from: CPU, cores, memory, Python, commit."""
    try:
        commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True,
                                text=True).stdout.strip()
        dirty = bool(subprocess.run(["git", "status", "--porcelain", "app"], cwd=ROOT, capture_output=True,
                                    text=True).stdout.strip())
    except OSError:
        commit, dirty = "unknown", False
    cpu = "unknown"
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    return {
        "cpu": cpu, "cores": os.cpu_count(), "memory_gib": round(psutil.virtual_memory().total / 2**30, 1),
        "python": platform.python_version(), "commit": commit + ("+dirty(app/)" if dirty else ""),
        "when": time.strftime("%Y-%m-%d %H:%M:%S %Z"),
    }


def run_scenario(name: str, description: str | None, run: Callable[..., dict[str, Any]],
                 summary: Callable[[dict[str, Any]], str]) -> None:
    """One scenario's command line (`python -m bench.<name> [--quick] [--profile]`): run it on its
    own servers, save bench/results/<name>.json and print `summary(result)`."""
    args = parse_args(description or "")
    with open_stack() as stack:
        result = run(stack, quick=args.quick, profile=args.profile)
    save_result(name, result)
    print(summary(result))


def save_result(name: str, data: dict[str, Any]) -> Path:
    """bench/results/<name>.json, with the machine and commit it came from."""
    RESULTS.mkdir(parents=True, exist_ok=True)
    path = RESULTS / f"{name}.json"
    path.write_text(json.dumps({"scenario": name, "machine": machine(), **data}, indent=2, default=str))
    print(f"-> {path.relative_to(ROOT)}")
    return path


def settings_summary(settings: Settings, *names: str) -> dict[str, Any]:
    dumped = settings.model_dump()
    return {n.upper(): dumped[n] for n in names}


def summarize_profile(name: str, top: int = 25) -> dict[str, Any]:
    """Top functions of a py-spy raw (collapsed) profile: self and inclusive share of CPU samples."""
    import re
    from collections import Counter

    path = RESULTS / f"profile-{name}.txt"
    if not path.exists():
        return {}
    strip_line = re.compile(r":\d+\)$")
    self_c: Counter[str] = Counter()
    incl: Counter[str] = Counter()
    total = 0
    for line in path.read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        if not count.isdigit():
            continue
        n = int(count)
        frames = [strip_line.sub(")", f.replace(str(ROOT) + "/", "").replace(".venv/lib/python3.11/site-packages/", ""))
                  for f in stack.split(";")[1:]]
        if not frames:
            continue
        total += n
        self_c[frames[-1]] += n
        for frame in set(frames):
            incl[frame] += n

    def share(counter: Counter[str]) -> list[tuple[str, float]]:
        return [(f, round(100 * c / total, 1)) for f, c in counter.most_common(top)]

    return {"samples": total, "self_pct": share(self_c), "inclusive_pct": share(incl)}
