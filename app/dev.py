"""`foodai dev`: the whole service on one laptop, with one command.

Without DATABASE_URL it starts an embedded PostgreSQL (data kept in DATA_DIR/pg);
without KAFKA_BOOTSTRAP_SERVERS an embedded Tansu broker (in memory). It migrates,
starts a worker process, serves the API here, and prints the URL and a dev token.
Ctrl-C stops the API, then the worker, the broker and PostgreSQL, in that order.

One `foodai dev` per data folder: it holds a lock on DATA_DIR/dev.lock, and while it
serves, DATA_DIR/dev.json (mode 0600) records its pid, URL and dev token, which
`foodai scan` reads and a second `foodai dev` names when it refuses to start.
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import json
import os
import secrets
import signal
import subprocess
import sys
import threading
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any

from pydantic import SecretStr

from app.auth import issue_token
from app.settings import DEV_SECRET_PLACEHOLDER, AppEnv, Settings
from app.startup import (
    EXIT_BROKER,
    EXIT_DATABASE,
    EXIT_IN_USE,
    EXIT_SETTINGS,
    StartupError,
    broker_problem,
    check_database,
    check_port_free,
    load_settings,
    reported,
)

DEV_USER = uuid.UUID("00000000-0000-7000-8000-000000000001")
DEV_INFO = "dev.json"


def dev_info_path(data_dir: Path) -> Path:
    """Where a running `foodai dev` records its pid, URL and dev token."""
    return data_dir / DEV_INFO


def read_dev_info(data_dir: Path) -> dict[str, Any] | None:
    """The running `foodai dev`'s record in `data_dir`, or None when none is running there."""
    try:
        info: dict[str, Any] = json.loads(dev_info_path(data_dir).read_text())
        os.kill(int(info["pid"]), 0)  # left behind by a killed run: its pid is gone
    except (OSError, ValueError, KeyError, TypeError):
        return None
    return info


def _hold_lock(data_dir: Path) -> IO[str]:
    """Lock DATA_DIR/dev.lock for this process's life; StartupError naming the running one if taken."""
    handle = (data_dir / "dev.lock").open("a+")
    try:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        handle.close()
        info = read_dev_info(data_dir)
        where = f"pid {info['pid']}, {info['url']}/scan" if info else "still starting"
        raise StartupError(f"another foodai dev is already running with data in {data_dir} ({where}): use it, "
                           "stop it (Ctrl-C in its terminal), or set DATA_DIR to another folder", EXIT_IN_USE) from None
    return handle


def _write_dev_info(data_dir: Path, url: str, token: str) -> None:
    path = dev_info_path(data_dir)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    os.fchmod(fd, 0o600)  # an older file keeps its mode through O_CREAT
    with os.fdopen(fd, "w") as out:
        json.dump({"pid": os.getpid(), "url": url, "token": token, "user": str(DEV_USER)}, out)


def _browser_url(host: str, port: int) -> str:
    shown = "127.0.0.1" if host in ("0.0.0.0", "", "::") else host
    return f"http://[{shown}]:{port}" if ":" in shown else f"http://{shown}:{port}"


def _dev_secret(data_dir: Path) -> str:
    """JWT_SECRET when set, else a random secret kept in the data folder across runs."""
    path = data_dir / "jwt-secret"
    if not path.exists():
        path.write_text(secrets.token_urlsafe(48))
        path.chmod(0o600)
    return path.read_text().strip()


@contextlib.contextmanager
def _infrastructure(settings: Settings) -> Iterator[dict[str, str]]:
    """Start what the environment does not name; yield the settings overrides pointing at them."""
    # deferred: `foodai scan` imports this module (dev.json) and needs no embedded server
    from app.embedded import EmbeddedBroker, EmbeddedPostgres, ensure_database

    overrides: dict[str, str] = {}
    with contextlib.ExitStack() as stack:
        if not os.environ.get("DATABASE_URL"):
            pg = EmbeddedPostgres(settings.data_dir / "pg")
            server = stack.enter_context(_embedded("PostgreSQL", pg, EXIT_DATABASE))
            overrides["database_url"] = asyncio.run(ensure_database(server.url, "foodai"))
            print(f"embedded PostgreSQL: {overrides['database_url']}")
        if not os.environ.get("KAFKA_BOOTSTRAP_SERVERS"):
            broker = stack.enter_context(_embedded("broker", EmbeddedBroker(settings.data_dir / "broker"), EXIT_BROKER))
            overrides["kafka_bootstrap_servers"] = broker.bootstrap_servers
            print(f"embedded Kafka-compatible broker (Tansu): {broker.bootstrap_servers}")
        yield overrides


@contextlib.contextmanager
def _embedded(what: str, server: Any, code: int) -> Iterator[Any]:
    """Enter an embedded server; its start failure as one StartupError line (its log stays on disk)."""
    from app.embedded import EmbeddedStartError  # deferred: as in _infrastructure

    try:
        started = server.__enter__()
    except EmbeddedStartError as exc:
        first = (str(exc).strip().splitlines() or ["failed"])[0]
        raise StartupError(f"the embedded {what} did not start: {first}", code) from None
    try:
        yield started
    finally:
        server.__exit__(None, None, None)


def _start_worker(settings: Settings) -> subprocess.Popen[bytes]:
    env = dict(os.environ)
    env.update({
        "DATABASE_URL": settings.database_url,
        "KAFKA_BOOTSTRAP_SERVERS": settings.kafka_bootstrap_servers,
        "JWT_SECRET": settings.jwt_secret.get_secret_value(),
    })
    # its own session: a terminal Ctrl-C reaches only us, and we stop the worker in order;
    # and if we are killed outright, the kernel stops it (it would be left without servers)
    from app.embedded.process import die_with_parent  # deferred: as in _infrastructure

    return subprocess.Popen([sys.executable, "-m", "app.worker"], env=env, start_new_session=True,
                            preexec_fn=die_with_parent())


def _watch_worker(worker: subprocess.Popen[bytes], stopping: threading.Event) -> None:
    """If the worker dies while we serve, say so and stop everything (as Ctrl-C would)."""
    code = worker.wait()
    if not stopping.is_set():
        print(f"\nthe worker exited unexpectedly (status {code}); stopping foodai dev", file=sys.stderr)
        os.kill(os.getpid(), signal.SIGINT)


def _interrupt(_signum: int, _frame: object) -> None:
    raise KeyboardInterrupt


def _stop_worker(worker: subprocess.Popen[bytes], grace_s: float) -> None:
    worker.terminate()
    try:
        worker.wait(grace_s + 5)
    except subprocess.TimeoutExpired:
        worker.kill()
        worker.wait()


def run_dev(*, host: str, port: int) -> None:
    """Run everything until Ctrl-C."""
    with reported("dev"):
        settings = load_settings()
        if settings.app_env is AppEnv.PRODUCTION:
            raise StartupError("foodai dev is for development; use `foodai serve` and `foodai worker` in "
                               "production (or unset APP_ENV)", EXIT_SETTINGS)
        settings.data_dir.mkdir(parents=True, exist_ok=True)
        lock = _hold_lock(settings.data_dir)
        check_port_free(host, port)
        if os.environ.get("DATABASE_URL"):
            asyncio.run(check_database(settings.database_url))
        _warn_about_named_broker(settings)
        try:
            _run(settings, host, port)
        finally:
            dev_info_path(settings.data_dir).unlink(missing_ok=True)
            lock.close()


def _warn_about_named_broker(settings: Settings) -> None:
    """KAFKA_BOOTSTRAP_SERVERS names a broker that does not answer: say so once, up front (jobs wait for it)."""
    problem = broker_problem(settings.kafka_bootstrap_servers) if os.environ.get("KAFKA_BOOTSTRAP_SERVERS") else None
    if problem:
        print(f"foodai dev: warning: {problem}: jobs wait until it answers; start it, or unset "
              "KAFKA_BOOTSTRAP_SERVERS for an embedded broker", file=sys.stderr, flush=True)


def _run(settings: Settings, host: str, port: int) -> None:
    # deferred, heavy: the API, its server, migrations and logging, which `foodai scan` (importing this) does not need
    import uvicorn

    from app.main import create_app, websocket_server_options
    from app.migrate import MigrationError, migrate
    from app.observability.logs import configure_logging

    configure_logging(settings)
    secret = settings.jwt_secret.get_secret_value()
    if secret == DEV_SECRET_PLACEHOLDER:
        secret = _dev_secret(settings.data_dir)
    with _infrastructure(settings) as overrides:
        settings = settings.model_copy(update={**overrides, "jwt_secret": SecretStr(secret)})
        try:
            applied = asyncio.run(migrate(settings.database_url))
        except MigrationError as exc:
            raise StartupError(f"{exc}: restore the file as it was applied, or add a new migration",
                               EXIT_DATABASE) from None
        print("migrations applied: " + (", ".join(applied) or "none (up to date)"))
        worker = _start_worker(settings)
        stopping = threading.Event()
        threading.Thread(target=_watch_worker, args=(worker, stopping), daemon=True).start()
        try:
            token = issue_token(settings, user_id=DEV_USER, plan="free")
            url = _browser_url(host, port)
            _write_dev_info(settings.data_dir, url, token)
            print(f"\nfoodai is starting on {url}/scan (scan page) and {url}/graphql (GraphiQL)\n"
                  f"dev token (user {DEV_USER}; also in {dev_info_path(settings.data_dir)}):\n"
                  f"  Authorization: Bearer {token}\n", flush=True)
            api_settings = settings.model_copy(update={"dev_token": SecretStr(token)})  # prefilled by the pages
            # uvicorn re-raises the SIGINT or SIGTERM it handled once it has shut down: both must end
            # here as an exception, so the worker, the broker and PostgreSQL are stopped in order below
            signal.signal(signal.SIGTERM, _interrupt)
            with contextlib.suppress(KeyboardInterrupt):
                uvicorn.run(create_app(api_settings), host=host, port=port, log_level="info",
                            log_config=None, timeout_graceful_shutdown=10, **websocket_server_options(settings))
        finally:
            stopping.set()
            _stop_worker(worker, settings.worker_shutdown_grace_s)
