"""Start-up checks for `foodai serve`, `worker`, `dev` and `migrate`: one line, and what to do.

Settings are validated, and the database (and, as a warning, the broker) reached, before
anything starts, so a newcomer sees `foodai serve: cannot reach PostgreSQL at
127.0.0.1:5432 (connection refused): start it, set DATABASE_URL, or run `foodai dev``
instead of a traceback. Messages name servers by host and port only: a DATABASE_URL's
user name may appear, its password never, and a rejected setting's value never.

Exit codes (README, "Exit codes"): 2 a bad command line or setting, 3 the database,
4 the broker, 5 the port or data folder is taken by another process.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import socket
import sys
from collections.abc import Iterator
from typing import NoReturn
from urllib.parse import unquote, urlsplit

import asyncpg
from pydantic import ValidationError
from pydantic_settings import SettingsError

from app.db import DB_ERRORS
from app.settings import Settings

EXIT_SETTINGS = 2
EXIT_DATABASE = 3
EXIT_BROKER = 4
EXIT_IN_USE = 5
DEV_HINT = "or run `foodai dev`, which starts its own"


class StartupError(Exception):
    """A start-up failure with its one-line explanation and exit code."""

    def __init__(self, message: str, code: int) -> None:
        super().__init__(message)
        self.code = code


@contextlib.contextmanager
def reported(command: str) -> Iterator[None]:
    """Turn a StartupError raised inside into `foodai COMMAND: message` on stderr and its exit code."""
    try:
        yield
    except StartupError as exc:
        fail(command, exc)


def fail(command: str, exc: StartupError) -> NoReturn:
    """Print the one line and exit with the error's code."""
    sys.stderr.write(f"foodai {command}: {exc}\n")
    sys.stderr.flush()
    sys.exit(exc.code)


def load_settings() -> Settings:
    """Settings from the environment; StartupError naming each bad variable, never its value."""
    try:
        return Settings()
    except ValidationError as exc:
        raise StartupError("invalid settings: " + describe_validation(exc), EXIT_SETTINGS) from None
    except SettingsError as exc:  # a value that is not valid JSON for a structured field
        raise StartupError(f"invalid settings: {str(exc).split(' from source')[0]}", EXIT_SETTINGS) from None


def describe_validation(exc: ValidationError) -> str:
    """`VAR: why; VAR: why` from pydantic's errors, leaving out the inputs (they may be secrets)."""
    parts = []
    for error in exc.errors(include_url=False, include_input=False, include_context=False):
        message = error["msg"].removeprefix("Value error, ")
        loc = ".".join(str(p) for p in error["loc"]).upper()
        parts.append(f"{loc}: {message}" if loc else message)
    return "; ".join(parts)


def database_address(url: str) -> tuple[str, int, str, str]:
    """(host, port, database, user) of a postgresql:// URL; StartupError if it is another kind of URL."""
    parts = urlsplit(url)
    if parts.scheme not in ("postgresql", "postgres", "postgresql+asyncpg"):
        kind = f"a {parts.scheme}:// URL" if parts.scheme else "not a URL"
        raise StartupError(f"DATABASE_URL must be a postgresql:// URL (it is {kind}): "
                           "for example postgresql://postgres@127.0.0.1:5432/foodai, " + DEV_HINT, EXIT_SETTINGS)
    try:
        port = parts.port or 5432
    except ValueError:
        raise StartupError("DATABASE_URL has a port that is not a number", EXIT_SETTINGS) from None
    user = unquote(parts.username or "") or "postgres"
    return parts.hostname or "localhost", port, unquote(parts.path.lstrip("/")) or user, user


async def _connect(url: str, timeout_s: float, restart_wait_s: float) -> asyncpg.Connection:
    """A connection; a server that is starting up or shutting down (a restart, not a mistake in the
    settings) is waited for, up to `restart_wait_s`."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + restart_wait_s
    restarting = False
    while True:
        try:
            return await asyncio.wait_for(asyncpg.connect(url.replace("+asyncpg", "", 1), timeout=timeout_s),
                                          timeout_s + 1)
        except asyncpg.CannotConnectNowError:
            restarting = True  # from here on, a refused connection is the restart's gap too
            if loop.time() >= deadline:
                raise
        except ConnectionRefusedError:
            if not restarting or loop.time() >= deadline:
                raise
        await asyncio.sleep(0.5)


async def check_database(url: str, *, timeout_s: float = 5.0, restart_wait_s: float = 30.0) -> None:
    """Connect once and run SELECT 1; StartupError saying what failed and what to do."""
    host, port, name, user = database_address(url)
    where = f"{host}:{port}"
    try:
        conn = await _connect(url, timeout_s, restart_wait_s)
    except asyncpg.InvalidCatalogNameError:
        raise StartupError(f'database "{name}" does not exist on PostgreSQL at {where}: create it '
                           f"(createdb -h {host} -p {port} -U {user} {name}), " + DEV_HINT, EXIT_DATABASE) from None
    except (asyncpg.InvalidPasswordError, asyncpg.InvalidAuthorizationSpecificationError) as exc:
        cause = _first_line(exc)
        raise StartupError(f'PostgreSQL at {where} refused user "{user}" ({cause}): '
                           "check the user and password in DATABASE_URL", EXIT_DATABASE) from None
    except (asyncpg.ClientConfigurationError, ValueError):  # their text may quote the URL: left out
        raise StartupError("DATABASE_URL is not a valid PostgreSQL URL: check its form, for example "
                           "postgresql://user:password@host:5432/foodai", EXIT_SETTINGS) from None
    except (TimeoutError, *DB_ERRORS) as exc:
        raise StartupError(f"cannot reach PostgreSQL at {where} ({_cause(exc)}): start it or set DATABASE_URL, "
                           + DEV_HINT, EXIT_DATABASE) from None
    await conn.close()


def broker_problem(servers: str, *, timeout_s: float = 3.0) -> str | None:
    """None when a TCP connection to one of the bootstrap servers opens, else why none did."""
    causes = []
    for server in (s.strip() for s in servers.split(",") if s.strip()):
        host, _, port = server.rpartition(":")
        host = host.strip("[]") or "localhost"
        try:
            with socket.create_connection((host, int(port)), timeout=timeout_s):
                return None
        except ValueError:
            causes.append(f"{server} (no port)")
        except OSError as exc:
            causes.append(f"{server} ({_cause(exc)})")
    return "cannot reach the Kafka broker at " + ", ".join(causes or ["(none named)"])


def check_port_free(host: str, port: int) -> None:
    """StartupError when host:port cannot be bound (another server has it, or the address is not ours)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as uvicorn binds: TIME_WAIT is no conflict
        try:
            probe.bind((host, port))
        except OSError as exc:
            if exc.errno == errno.EADDRINUSE:
                raise StartupError(f"port {port} on {host} is already in use (another foodai?): stop that "
                                   "server or pass another --port", EXIT_IN_USE) from None
            raise StartupError(f"cannot listen on {host}:{port} ({_cause(exc)}): pass another --host",
                               EXIT_IN_USE) from None


def _first_line(exc: BaseException) -> str:
    return (str(exc).strip().splitlines() or [type(exc).__name__])[0]


def _cause(exc: BaseException) -> str:
    """A short, value-free reason for a connection failure."""
    if isinstance(exc, TimeoutError):
        return "no answer within the timeout"
    if isinstance(exc, socket.gaierror):
        return "unknown host name"
    if isinstance(exc, ConnectionRefusedError):
        return "connection refused"
    if isinstance(exc, OSError) and exc.strerror:
        return exc.strerror.lower()
    return _first_line(exc)
