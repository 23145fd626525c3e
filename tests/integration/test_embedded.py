"""Embedded PostgreSQL and Tansu broker: real child processes, started and stopped for real."""

from __future__ import annotations

import asyncio
import socket
import subprocess
from pathlib import Path

import asyncpg
import psutil
import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient

from app.embedded import (
    EmbeddedBroker,
    EmbeddedPostgres,
    EmbeddedStartError,
    ensure_database,
    ensure_topics,
    free_port,
)

FAST = {"fsync": "off"}


def _process_tree(pid: int | None) -> list[psutil.Process]:
    assert pid is not None
    root = psutil.Process(pid)
    return [root, *root.children(recursive=True)]


def _assert_gone(processes: list[psutil.Process]) -> None:
    # is_running() compares create times, so a reused pid does not count as ours
    assert [p.pid for p in processes if p.is_running()] == []


async def _scalar(url: str, sql: str) -> object:
    conn = await asyncpg.connect(url)
    try:
        return await conn.fetchval(sql)
    finally:
        await conn.close()


async def test_postgres_serves_18_creates_databases_and_stops_cleanly(tmp_path: Path) -> None:
    with EmbeddedPostgres(tmp_path / "pg", settings=FAST) as pg:
        tree = _process_tree(pg.pid)
        assert len(tree) > 1  # postmaster and its background processes
        assert "PostgreSQL 18" in str(await _scalar(pg.url, "select version()"))

        url = await ensure_database(pg.url, "foodai_test")
        assert url == f"postgresql://postgres@127.0.0.1:{pg.port}/foodai_test"
        assert await ensure_database(pg.url, "foodai_test") == url
        assert await _scalar(url, "select current_database()") == "foodai_test"
    assert pg.pid is None
    _assert_gone(tree)
    assert not (tmp_path / "pg" / "postmaster.pid").exists()


async def test_postgres_keeps_data_across_restarts_on_the_same_dir(tmp_path: Path) -> None:
    with EmbeddedPostgres(tmp_path / "pg", settings=FAST) as pg:
        conn = await asyncpg.connect(pg.url)
        await conn.execute("create table kept (v text); insert into kept values ('hello')")
        await conn.close()
    with EmbeddedPostgres(tmp_path / "pg", port=free_port(), settings=FAST) as again:
        assert await _scalar(again.url, "select v from kept") == "hello"


async def test_postgres_refuses_a_data_dir_in_use_and_clears_a_stale_pidfile(tmp_path: Path) -> None:
    with EmbeddedPostgres(tmp_path / "pg", settings=FAST) as pg:
        with pytest.raises(EmbeddedStartError, match="still running"):
            EmbeddedPostgres(tmp_path / "pg").start()
        assert await _scalar(pg.url, "select 1") == 1

    dead = subprocess.Popen(["true"])
    dead.wait()
    (tmp_path / "pg" / "postmaster.pid").write_text(f"{dead.pid}\n{tmp_path / 'pg'}\n")
    with EmbeddedPostgres(tmp_path / "pg", settings=FAST) as pg:
        assert await _scalar(pg.url, "select 1") == 1


async def _topic_partitions(bootstrap: str, topic: str) -> int:
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        (described,) = await admin.describe_topics([topic])
        return len(described["partitions"])
    finally:
        await admin.close()


async def _produce_and_consume_one(bootstrap: str, topic: str) -> None:
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, enable_idempotence=False)
    await producer.start()
    try:
        sent = await producer.send_and_wait(topic, b"receipt-1", key=b"job-1")
    finally:
        await producer.stop()

    consumer = AIOKafkaConsumer(
        topic,
        bootstrap_servers=bootstrap,
        group_id="embedded-test",
        enable_auto_commit=False,
        auto_offset_reset="earliest",
    )
    await consumer.start()
    try:
        message = await asyncio.wait_for(consumer.getone(), timeout=60)
        assert (message.value, message.partition) == (b"receipt-1", sent.partition)
        await consumer.commit()
        assert await consumer.committed(TopicPartition(topic, sent.partition)) == message.offset + 1
    finally:
        await consumer.stop()


async def test_broker_topics_messages_restart_and_stop(tmp_path: Path) -> None:
    broker = EmbeddedBroker(tmp_path / "broker")
    broker.start()
    try:
        bootstrap = broker.bootstrap_servers
        await ensure_topics(bootstrap, ["jobs.paid", "jobs.free"], partitions=3)
        await ensure_topics(bootstrap, ["jobs.paid", "jobs.free"], partitions=3)  # idempotent
        assert await _topic_partitions(bootstrap, "jobs.paid") == 3
        await _produce_and_consume_one(bootstrap, "jobs.paid")

        first = _process_tree(broker.pid)
        broker.restart()
        _assert_gone(first)
        assert broker.bootstrap_servers == bootstrap
        await ensure_topics(bootstrap, ["jobs.paid"], partitions=3)  # memory storage: created again
        assert await _topic_partitions(bootstrap, "jobs.paid") == 3
        second = _process_tree(broker.pid)
    finally:
        broker.stop()
    assert broker.pid is None
    _assert_gone(second)
    assert (tmp_path / "broker" / "tansu.log").read_text().count("listening on") == 2


def test_a_taken_port_fails_fast_when_fixed_and_is_retried_when_chosen(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with socket.socket() as blocker:
        blocker.bind(("127.0.0.1", 0))
        blocker.listen()
        taken = blocker.getsockname()[1]
        with pytest.raises(EmbeddedStartError, match="in use"):
            EmbeddedBroker(tmp_path / "fixed", port=taken).start()

        ports = iter([taken, free_port()])
        monkeypatch.setattr("app.embedded.process.free_port", lambda: next(ports))
        with EmbeddedBroker(tmp_path / "chosen") as broker:
            assert broker.port != taken
