"""A private stack per fault test: its own topics and group, API and workers it starts,
kills and restarts at will, and (where the scenario needs it) its own broker or PostgreSQL."""

from __future__ import annotations

import asyncio
import re
import signal
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import asyncpg
import pytest

from app.embedded import free_port
from app.settings import Settings
from tests.conftest import make_settings
from tests.support import CLEAN_EXIT, SUBMIT_RECEIPT, Api, ChildProcess, User, b64, start_child, wait_ready


@dataclass
class Stack:
    settings: Settings
    log_dir: Path
    api: Api | None = None
    api_child: ChildProcess | None = None
    workers: list[ChildProcess] = field(default_factory=list)

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

    async def submit(self, user: User, image: bytes) -> dict[str, Any]:
        assert self.api is not None
        body = await self.api.gql(SUBMIT_RECEIPT, {"images": [{"base64": b64(image)}]}, user=user)
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
    match = re.search(r"stats: (.*)$", child.log(), re.MULTILINE)
    assert match, child.log()[-3000:]
    return {k: int(v) for k, v in (pair.split("=") for pair in match.group(1).split())}


def kill9(child: ChildProcess) -> None:
    child.proc.send_signal(signal.SIGKILL)
    child.proc.wait(10)


def terminate(child: ChildProcess) -> int:
    child.proc.send_signal(signal.SIGTERM)
    return child.proc.wait(60)


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


@pytest.fixture
def stack_factory(database_url: str, kafka_bootstrap: str, tmp_path: Path) -> Iterator[Any]:
    stacks: list[Stack] = []

    def make(*, database: str | None = None, kafka: str | None = None, **overrides: Any) -> Stack:
        settings = make_settings(database or database_url, kafka or kafka_bootstrap, **overrides)
        stack = Stack(settings, tmp_path / f"stack{len(stacks)}")
        stack.log_dir.mkdir()
        stacks.append(stack)
        return stack

    yield make
    for stack in stacks:
        stack.stop_all()


@pytest.fixture
async def db_conn(database_url: str) -> AsyncIterator[asyncpg.Connection]:
    conn = await asyncpg.connect(database_url)
    try:
        yield conn
    finally:
        await conn.close()


__all__ = ["CLEAN_EXIT", "Stack", "kill9", "terminate", "wait_statuses", "worker_stats"]
