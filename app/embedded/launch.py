"""foodai's own processes (the API, the worker, `foodai dev`) started as children from their real
entrypoints, with their settings passed through the environment: the one launcher the test suite
and the benchmarks share.

Each child runs `python -m <module>` from the project root (so a checkout's `app/` is the one
imported), writes stdout and stderr to `<log_dir>/<name>.log`, and is stopped with SIGTERM
(then SIGKILL after a timeout).
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import httpx

from app.embedded.process import HOST, free_port
from app.settings import Settings

ROOT = Path(__file__).resolve().parent.parent.parent
# uvicorn exits by re-raising the SIGTERM it handled, after a complete graceful shutdown
CLEAN_EXIT = (0, -15)
_ENV_PREFIXES = ("KAFKA_", "DATABASE_", "RECOGNIZER_")


def settings_env(settings: Settings) -> dict[str, str]:
    """The environment that makes a child process build exactly these settings."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(_ENV_PREFIXES)}
    for name, value in settings.model_dump().items():
        if value is None:
            continue
        if hasattr(value, "get_secret_value"):
            value = value.get_secret_value()
        env[name.upper()] = str(value.value if hasattr(value, "value") else value)
    env["PYTHONUNBUFFERED"] = "1"
    return env


@dataclass
class ChildProcess:
    """A foodai process started from its real entrypoint, logging to `log_path`."""

    name: str
    proc: subprocess.Popen[bytes]
    log_path: Path

    def log(self) -> str:
        """Everything the child has written so far."""
        return self.log_path.read_text(errors="replace")

    def stop(self, timeout: float = 30) -> int:
        """SIGTERM, then SIGKILL if it has not exited within `timeout`; returns the exit code."""
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout)
        return self.proc.returncode


def start_child(name: str, args: list[str], settings: Settings, log_dir: Path) -> ChildProcess:
    """`python -m *args` with these settings in its environment, its output in `log_dir/name.log`."""
    log_path = log_dir / f"{name}.log"
    with log_path.open("wb") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", *args], cwd=ROOT, env=settings_env(settings), stdout=out, stderr=subprocess.STDOUT
        )
    return ChildProcess(name, proc, log_path)


def start_api(name: str, settings: Settings, log_dir: Path) -> tuple[ChildProcess, str]:
    """`foodai serve` on a free port, not yet ready (see `wait_ready`); returns the child and its URL."""
    port = free_port()
    child = start_child(name, ["app.cli", "serve", "--port", str(port)], settings, log_dir)
    return child, f"http://{HOST}:{port}"


def start_worker(name: str, settings: Settings, log_dir: Path) -> ChildProcess:
    """`python -m app.worker` with these settings."""
    return start_child(name, ["app.worker"], settings, log_dir)


async def wait_ready(child: ChildProcess, url: str, deadline_s: float = 60) -> None:
    """Poll `url`/readyz until it answers 200; raise with the child's log if it exits or the deadline passes."""
    async with httpx.AsyncClient(timeout=2) as client, asyncio.timeout(deadline_s):
        while True:
            if child.proc.poll() is not None:
                raise RuntimeError(f"{child.name} exited {child.proc.returncode}:\n{child.log()[-4000:]}")
            try:
                if (await client.get(url + "/readyz")).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            await asyncio.sleep(0.1)
