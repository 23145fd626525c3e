"""Fault scenarios around the servers (issue 4: 2 and 6): the broker and PostgreSQL go away."""

from __future__ import annotations

import asyncio
import uuid
from pathlib import Path

import asyncpg

from app.embedded import EmbeddedBroker, EmbeddedPostgres, ensure_database
from app.events import LISTEN_APPLICATION_NAME
from app.migrate import migrate
from tests.stack import terminate, wait_statuses
from tests.support import WATCH_JOB, new_user, scripted_image


async def test_2_broker_stopped_while_100_jobs_are_submitted_then_restarted_empty(
    stack_factory, tmp_path: Path
) -> None:
    with EmbeddedBroker(tmp_path / "broker") as broker:
        stack = stack_factory(kafka=broker.bootstrap_servers, worker_republish_after_s=2.0)
        db = await stack.db()
        await stack.start_api()
        worker = stack.start_worker()
        user = new_user(stack.settings)
        await asyncio.to_thread(broker.stop)
        jobs = await asyncio.gather(*(stack.submit(user, scripted_image(f"ITEM{i}*1*pcs*1")) for i in range(100)))
        assert {j["status"] for j in jobs} == {"PENDING"}
        await asyncio.to_thread(broker.start)  # same port, no topics, no messages, no group
        ids = [j["id"] for j in jobs]
        assert await wait_statuses(db, ids, {"done", "failed"}, deadline_s=120) == dict.fromkeys(ids, "done")
        assert terminate(worker) == 0


async def _watch_all(api, user, job_ids: list[str]) -> list[list[str]]:
    async def watch(job_id: str) -> list[str]:
        async with api.ws(user=user) as ws:
            assert (await ws.recv())["type"] == "connection_ack"
            op = await ws.subscribe(WATCH_JOB, {"id": job_id})
            return [p["data"]["productJob"]["status"] for p in await ws.collect(op, timeout=120)]
    return await asyncio.gather(*(watch(j) for j in job_ids))


async def _wait_subscribed(job_ids: list[str], api_log) -> None:
    """Every watcher has its first frame once the API logged 50 websocket opens; poll the log."""
    async with asyncio.timeout(30):
        while api_log().count("WebSocket /graphql\" [accepted]") < len(job_ids):
            await asyncio.sleep(0.05)


async def test_6a_listen_connection_terminated_with_50_subscriptions_open(
    stack_factory, tmp_path: Path
) -> None:
    stack = stack_factory()
    db = await stack.db()
    api = await stack.start_api()
    user = new_user(stack.settings)
    gate = tmp_path / "gate"
    jobs = [await stack.submit(user, scripted_image("A*1*pcs*1") + f"FOODAI-GATE:{gate}\n".encode())
            for _ in range(50)]
    ids = [j["id"] for j in jobs]
    watchers = asyncio.create_task(_watch_all(api, user, ids))
    await _wait_subscribed(ids, stack.api_child.log)
    assert stack.api_child is not None
    killed = await db.fetchval(
        "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE application_name = $1",
        f"{LISTEN_APPLICATION_NAME}:{stack.api_child.proc.pid}")
    assert killed == 1
    worker = stack.start_worker()
    gate.touch()
    streams = await asyncio.wait_for(watchers, 120)
    assert [s[-1] for s in streams] == ["DONE"] * 50
    assert terminate(worker) == 0


async def test_6b_postgresql_restart_with_50_subscriptions_open(
    stack_factory, tmp_path: Path
) -> None:
    with EmbeddedPostgres(tmp_path / "pg") as server:
        database_url = await ensure_database(server.url, "foodai")
        await migrate(database_url)
        stack = stack_factory(database=database_url)
        api = await stack.start_api()
        worker = stack.start_worker()
        user = new_user(stack.settings)
        gate = tmp_path / "gate"
        jobs = [await stack.submit(user, scripted_image("A*1*pcs*1") + f"FOODAI-GATE:{gate}\n".encode())
                for _ in range(50)]
        ids = [j["id"] for j in jobs]
        watchers = asyncio.create_task(_watch_all(api, user, ids))
        conn = await asyncpg.connect(database_url)
        try:
            await _wait_subscribed(ids, stack.api_child.log)
            await wait_statuses(conn, ids, {"processing", "pending"})
        finally:
            await conn.close()
        await asyncio.to_thread(server.restart)
        gate.touch()
        streams = await asyncio.wait_for(watchers, 150)
        assert [s[-1] for s in streams] == ["DONE"] * 50
        conn = await asyncpg.connect(database_url)
        try:
            rows = await conn.fetch("SELECT status FROM product_recognition_jobs WHERE id = ANY($1)",
                                    [uuid.UUID(i) for i in ids])
        finally:
            await conn.close()
        assert [r["status"] for r in rows] == ["done"] * 50
        assert terminate(worker) == 0
        stack.stop_all()
