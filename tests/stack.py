"""A private stack for a test: its own topics and consumer group, an API and workers it starts,
kills and restarts at will, over the session's servers or (where a scenario needs it) its own
broker or PostgreSQL. Built by the `stack_factory` fixture in tests/conftest.py."""

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

from app.embedded import free_port
from app.settings import Settings
from tests.support import SUBMIT_RECEIPT, Api, ChildProcess, User, b64, start_child, wait_ready


@dataclass
class Stack:
    settings: Settings
    log_dir: Path
    api: Api | None = None
    api_child: ChildProcess | None = None
    workers: list[ChildProcess] = field(default_factory=list)
    _db: asyncpg.Connection | None = None

    async def db(self) -> asyncpg.Connection:
        """A direct connection to this stack's database, for asserting what is stored."""
        if self._db is None:
            self._db = await asyncpg.connect(self.settings.database_url)
        return self._db

    async def close(self) -> None:
        """Close the direct connection (a later `db()` opens a new one)."""
        if self._db is not None:
            await self._db.close()
            self._db = None

    async def start_api(self) -> Api:
        port = free_port()
        self.api_child = start_child("api", ["app.cli", "serve", "--port", str(port)], self.settings, self.log_dir)
        self.api = Api(f"http://127.0.0.1:{port}")
        await wait_ready(self.api_child, self.api.base_url)
        return self.api

    def start_worker(self, **overrides: Any) -> ChildProcess:
        settings = self.settings.model_copy(update=overrides) if overrides else self.settings
        child = start_child(f"worker-{len(self.workers)}", ["app.worker"], settings, self.log_dir)
        self.workers.append(child)
        return child

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
