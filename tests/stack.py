"""A private stack for a test: its own topics and consumer group, an API and workers it starts,
kills and restarts at will, over the session's servers or (where a scenario needs it) its own
broker or PostgreSQL. Built by the `stack_factory` fixture in tests/conftest.py.

Workers run as child processes (`start_worker`: for scenarios that kill, stop or restart them)
or as the real `app.worker.Worker` on the test's own event loop (`start_worker_in_process`,
`run_worker_until_idle`), whose stats are read as attributes."""

from __future__ import annotations

import asyncio
import re
import signal
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import asyncpg
from aiokafka import AIOKafkaConsumer, TopicPartition

from app.embedded.launch import ChildProcess, start_api, start_worker, wait_ready
from app.settings import Settings
from app.worker import Worker, WorkerStats
from tests.support import SUBMIT_RECEIPT, Api, User, b64


@dataclass
class InProcessWorker:
    """The real worker running as a task of the test's event loop, over the stack's servers."""

    worker: Worker
    task: asyncio.Task[None]

    @property
    def stats(self) -> WorkerStats:
        """What it did so far (claimed, duplicates, poison, finished, released)."""
        return self.worker.stats

    async def stop(self) -> int:
        """Stop it as SIGTERM does (in-flight jobs get the grace period) and wait for the drain;
        0 when `run()` returned cleanly, as the process's exit code would be. A failure is raised."""
        self.worker.request_stop()
        await self.task
        return 0


@dataclass
class Stack:
    settings: Settings
    log_dir: Path
    api: Api | None = None
    api_child: ChildProcess | None = None
    workers: list[ChildProcess] = field(default_factory=list)
    in_process: list[InProcessWorker] = field(default_factory=list)
    _db: asyncpg.Connection | None = None

    async def db(self) -> asyncpg.Connection:
        """A direct connection to this stack's database, for asserting what is stored."""
        if self._db is None:
            self._db = await asyncpg.connect(self.settings.database_url)
        return self._db

    async def close(self) -> None:
        """Stop the in-process workers still running and close the direct connection (a later `db()`
        opens a new one)."""
        for worker in self.in_process:
            if not worker.task.done():
                await worker.stop()
        if self._db is not None:
            await self._db.close()
            self._db = None

    async def start_api(self) -> Api:
        self.api_child, url = start_api("api", self.settings, self.log_dir)
        self.api = Api(url)
        await wait_ready(self.api_child, self.api.base_url)
        return self.api

    def start_worker(self, **overrides: Any) -> ChildProcess:
        settings = self.settings.model_copy(update=overrides) if overrides else self.settings
        child = start_worker(f"worker-{len(self.workers)}", settings, self.log_dir)
        self.workers.append(child)
        return child

    def start_worker_in_process(self, **overrides: Any) -> InProcessWorker:
        """The real worker on this event loop until `stop()`; no process start-up, stats as attributes."""
        worker = Worker(self.settings.model_copy(update=overrides) if overrides else self.settings)
        running = InProcessWorker(worker, asyncio.create_task(worker.run(), name="in-process-worker"))
        self.in_process.append(running)
        return running

    async def run_worker_until_idle(self, deadline_s: float = 60, **overrides: Any) -> InProcessWorker:
        """The real worker on this event loop until nothing is left to do (app.worker's burst mode);
        returned stopped, its stats as attributes."""
        worker = Worker(self.settings.model_copy(update=overrides) if overrides else self.settings)
        running = InProcessWorker(worker, asyncio.create_task(self._until_idle(worker), name="idle-worker"))
        self.in_process.append(running)
        async with asyncio.timeout(deadline_s):
            await asyncio.shield(running.task)
        return running

    @staticmethod
    async def _until_idle(worker: Worker) -> None:
        await worker.run_until_idle()

    async def submit(self, user: User, image: bytes, lang: str = "en") -> dict[str, Any]:
        """submitReceipt with one image; the test fails on any error."""
        assert self.api is not None
        body = await self.api.gql(SUBMIT_RECEIPT, {"images": [{"base64": b64(image)}], "lang": lang}, user=user)
        assert "errors" not in body, body
        job: dict[str, Any] = body["data"]["submitReceipt"]
        return job

    def stop_all(self) -> None:
        for worker in self.workers:
            worker.stop()
        if self.api_child is not None:
            self.api_child.stop()


def worker_stats(child: ChildProcess) -> dict[str, int]:
    """The stats line a worker logs when it stops."""
    match = re.search(r"stats: ((?:\w+=\d+ ?)+)", child.log())
    assert match, child.log()[-3000:]
    return {k: int(v) for k, v in (pair.split("=") for pair in match.group(1).split())}


def kill9(child: ChildProcess) -> None:
    child.proc.send_signal(signal.SIGKILL)
    child.proc.wait(10)


def terminate(child: ChildProcess) -> int:
    child.proc.send_signal(signal.SIGTERM)
    return child.proc.wait(60)


async def wait_logged(child: ChildProcess, text: str, count: int = 1, deadline_s: float = 60) -> None:
    """Poll the child's log until `text` appears `count` times; the deadline bounds it."""
    async with asyncio.timeout(deadline_s):
        while child.log().count(text) < count:
            await asyncio.sleep(0.05)


async def wait_statuses(db: asyncpg.Connection, job_ids: list[str], statuses: set[str],
                        deadline_s: float = 90) -> dict[str, str]:
    """Poll the jobs' rows until each has one of `statuses`; the deadline bounds it."""
    ids = [uuid.UUID(j) for j in job_ids]
    async with asyncio.timeout(deadline_s):
        while True:
            rows = await db.fetch("SELECT id, status FROM product_recognition_jobs WHERE id = ANY($1)", ids)
            current = {str(r["id"]): r["status"] for r in rows}
            if len(current) == len(ids) and all(s in statuses for s in current.values()):
                return current
            await asyncio.sleep(0.1)


async def committed_all(settings: Settings) -> None:
    """Wait until the worker group has committed every message on both topics.

    A consumer with the group's id but a manual assignment reads the group's committed
    offsets without joining the group (it does not disturb the worker).
    """
    consumer = AIOKafkaConsumer(bootstrap_servers=settings.kafka_bootstrap_servers,
                                group_id=settings.kafka_group_id, enable_auto_commit=False)
    await consumer.start()
    try:
        parts = [TopicPartition(t, p) for t in settings.topics for p in (consumer.partitions_for_topic(t) or ())]
        consumer.assign(parts)
        async with asyncio.timeout(30):
            while True:
                ends = {tp: end for tp, end in (await consumer.end_offsets(parts)).items() if end > 0}
                committed = {tp: await consumer.committed(tp) for tp in ends}
                if all(committed[tp] is not None and committed[tp] >= end for tp, end in ends.items()):
                    return
                await asyncio.sleep(0.05)
    finally:
        await consumer.stop()
