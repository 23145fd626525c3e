"""`foodai dev`: the whole service on one laptop, with one command.

Without DATABASE_URL it starts an embedded PostgreSQL (data kept in DATA_DIR/pg);
without KAFKA_BOOTSTRAP_SERVERS an embedded Tansu broker (in memory). It migrates,
starts a worker process, serves the API here, and prints the URL and a dev token.
Ctrl-C stops the API, then the worker, the broker and PostgreSQL, in that order.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import secrets
import signal
import subprocess
import sys
import threading
import uuid
from collections.abc import Iterator
from pathlib import Path

from pydantic import SecretStr

from app.auth import issue_token
from app.settings import DEV_SECRET_PLACEHOLDER, AppEnv, Settings

DEV_USER = uuid.UUID("00000000-0000-7000-8000-000000000001")


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
    from app.embedded import EmbeddedBroker, EmbeddedPostgres, ensure_database

    overrides: dict[str, str] = {}
    with contextlib.ExitStack() as stack:
        if not os.environ.get("DATABASE_URL"):
            server = stack.enter_context(EmbeddedPostgres(settings.data_dir / "pg"))
            overrides["database_url"] = asyncio.run(ensure_database(server.url, "foodai"))
            print(f"embedded PostgreSQL: {overrides['database_url']}")
        if not os.environ.get("KAFKA_BOOTSTRAP_SERVERS"):
            broker = stack.enter_context(EmbeddedBroker(settings.data_dir / "broker"))
            overrides["kafka_bootstrap_servers"] = broker.bootstrap_servers
            print(f"embedded Kafka-compatible broker (Tansu): {broker.bootstrap_servers}")
        yield overrides


def _start_worker(settings: Settings) -> subprocess.Popen[bytes]:
    env = dict(os.environ)
    env.update({
        "DATABASE_URL": settings.database_url,
        "KAFKA_BOOTSTRAP_SERVERS": settings.kafka_bootstrap_servers,
        "JWT_SECRET": settings.jwt_secret.get_secret_value(),
    })
    # its own session: a terminal Ctrl-C reaches only us, and we stop the worker in order;
    # and if we are killed outright, the kernel stops it (it would be left without servers)
    from app.embedded.process import die_with_parent

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
    import uvicorn

    from app.main import create_app, websocket_server_options
    from app.migrate import migrate
    from app.observability.logs import configure_logging

    settings = Settings()
    if settings.app_env is AppEnv.PRODUCTION:
        sys.exit("foodai dev is for development; use `foodai serve` and `foodai worker` in production")
    configure_logging(settings)
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    secret = settings.jwt_secret.get_secret_value()
    if secret == DEV_SECRET_PLACEHOLDER:
        secret = _dev_secret(settings.data_dir)
    with _infrastructure(settings) as overrides:
        settings = settings.model_copy(update={**overrides, "jwt_secret": SecretStr(secret)})
        applied = asyncio.run(migrate(settings.database_url))
        print("migrations applied: " + (", ".join(applied) or "none (up to date)"))
        worker = _start_worker(settings)
        stopping = threading.Event()
        threading.Thread(target=_watch_worker, args=(worker, stopping), daemon=True).start()
        try:
            token = issue_token(settings, user_id=DEV_USER, plan="free")
            print(f"\nfoodai is starting on http://{host}:{port}/scan (scan page) and /graphql (GraphiQL)\n"
                  f"dev token (user {DEV_USER}):\n  Authorization: Bearer {token}\n", flush=True)
            api_settings = settings.model_copy(update={"dev_token": SecretStr(token)})  # prefilled by the pages
            # uvicorn re-raises the SIGINT or SIGTERM it handled once it has shut down: both must end
            # here as an exception, so the worker, the broker and PostgreSQL are stopped in order below
            signal.signal(signal.SIGTERM, _interrupt)
            with contextlib.suppress(KeyboardInterrupt):
                uvicorn.run(create_app(api_settings), host=host, port=port, log_level="info",
                            log_config=None, timeout_graceful_shutdown=10, **websocket_server_options())
        finally:
            stopping.set()
            _stop_worker(worker, settings.worker_shutdown_grace_s)
