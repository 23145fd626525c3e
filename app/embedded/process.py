"""Child processes we own: spawn (optionally as another user), wait until ready, stop, restart."""

from __future__ import annotations

import contextlib
import ctypes
import logging
import os
import re
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Self

import psutil

_log = logging.getLogger(__name__)

HOST = "127.0.0.1"
_PR_SET_PDEATHSIG = 1
_POLL_S = 0.05
_PORT_ATTEMPTS = 3
_ADDRESS_IN_USE = re.compile(r"address (already )?in use|AddrInUse", re.IGNORECASE)  # postgres, tansu


class EmbeddedStartError(RuntimeError):
    """A child server exited or did not become ready; the message carries its log tail."""


class _AddressInUseError(EmbeddedStartError):
    """The child could not bind its port (another process took it)."""


@dataclass(frozen=True)
class RunAs:
    name: str
    uid: int
    gid: int


def free_port() -> int:
    """Return a TCP port on 127.0.0.1 that was free a moment ago (bind to 0, then release)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((HOST, 0))
        port: int = sock.getsockname()[1]
        return port


def die_with_parent() -> Callable[[], None] | None:
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


def spawn(argv: Sequence[str], log_path: Path, run_as: RunAs | None, cwd: Path) -> subprocess.Popen[bytes]:
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
            preexec_fn=die_with_parent(),
            **creds,
        )


def stop_child(proc: subprocess.Popen[bytes], sig: signal.Signals, timeout: float) -> None:
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


def log_tail(log_path: Path, offset: int, limit: int = 4000) -> str:
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
            tail = log_tail(*log)
            error = _AddressInUseError if _ADDRESS_IN_USE.search(tail) else EmbeddedStartError
            raise error(f"{name} exited with {proc.returncode} while starting:\n{tail}")
        if _listens_on(proc.pid, port) and ready():
            return
        if time.monotonic() > deadline:
            raise EmbeddedStartError(f"{name} not ready in {deadline_s} s:\n{log_tail(*log)}")
        time.sleep(_POLL_S)


@dataclass(frozen=True)
class Launch:
    """How to run one server: the command for a port, its readiness check, where it logs."""

    argv: Callable[[int], list[str]]
    ready: Callable[[int], bool]
    log_path: Path
    cwd: Path
    run_as: RunAs | None
    deadline_s: float

    def __call__(self, port: int) -> subprocess.Popen[bytes]:
        """Spawn the server on port and wait until it serves; never leaves a child on failure."""
        offset = self.log_path.stat().st_size if self.log_path.exists() else 0
        proc = spawn(self.argv(port), self.log_path, self.run_as, self.cwd)
        try:
            _wait_ready(proc, port, lambda: self.ready(port), self.deadline_s, (self.log_path, offset))
        except BaseException:
            stop_child(proc, signal.SIGKILL, 5.0)
            raise
        return proc


def _start_on_port(launch: Launch, port: int | None) -> tuple[int, subprocess.Popen[bytes]]:
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


class ChildServer:
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
            stop_child(proc, self._stop_signal, self._stop_timeout_s)

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

    def _prepare(self) -> Launch:
        raise NotImplementedError


