"""Start-up failures against a real PostgreSQL: one line naming host:port, the cause and a next step,
and the documented exit code (3 database, 5 port or data folder taken)."""

from __future__ import annotations

import fcntl
import json
import os
import socket
import subprocess
import sys
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

from tests.support import ROOT


def foodai(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    base = {k: v for k, v in os.environ.items() if not k.startswith(("APP_", "JWT_", "DATABASE_", "DATA_DIR"))}
    return subprocess.run([sys.executable, "-m", "app.cli", *args], cwd=ROOT, env={**base, **env},
                          capture_output=True, text=True, timeout=60, check=False)


def with_parts(url: str, *, user: str | None = None, database: str | None = None) -> str:
    parts = urlsplit(url)
    netloc = parts.netloc if user is None else f"{user}:pw-never-shown@{parts.hostname}:{parts.port}"
    return urlunsplit(parts._replace(netloc=netloc, path="/" + database if database else parts.path))


def one_line(done: subprocess.CompletedProcess[str], code: int) -> str:
    assert done.returncode == code, done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and done.stdout == "", done.stderr
    return lines[0]


def test_a_missing_database_is_named_with_how_to_create_it(pg_server_url: str) -> None:
    url = with_parts(pg_server_url, database="foodai_missing")
    host_port = f"{urlsplit(url).hostname}:{urlsplit(url).port}"
    for command in ("serve", "migrate"):
        line = one_line(foodai(command, env={"DATABASE_URL": url}), 3)
        assert line.startswith(f'foodai {command}: database "foodai_missing" does not exist on PostgreSQL at '
                               f"{host_port}: create it (createdb"), line
        assert "foodai dev" in line


def test_a_refused_user_is_named_without_the_password(pg_server_url: str) -> None:
    url = with_parts(pg_server_url, user="nobody_here", database="postgres")
    line = one_line(foodai("migrate", env={"DATABASE_URL": url}), 3)
    assert 'refused user "nobody_here"' in line and "DATABASE_URL" in line
    assert "pw-never-shown" not in line


def test_a_port_in_use_is_refused_before_anything_starts(database_url: str) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        line = one_line(foodai("serve", "--port", str(port), env={"DATABASE_URL": database_url}), 5)
    assert line == (f"foodai serve: port {port} on 127.0.0.1 is already in use (another foodai?): stop that "
                    "server or pass another --port")


def test_migrate_up_to_date(database_url: str) -> None:
    done = foodai("migrate", env={"DATABASE_URL": database_url})
    assert (done.returncode, done.stdout.strip()) == (0, "database is up to date"), done.stderr


def test_a_second_foodai_dev_on_the_same_data_dir_names_the_first(tmp_path: Path) -> None:
    with (tmp_path / "dev.lock").open("a+") as lock:  # what a running `foodai dev` holds
        fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        (tmp_path / "dev.json").write_text(json.dumps({"pid": os.getpid(), "url": "http://127.0.0.1:8123",
                                                       "token": "t", "user": "u"}))
        line = one_line(foodai("dev", env={"DATA_DIR": str(tmp_path)}), 5)
    assert line == (f"foodai dev: another foodai dev is already running with data in {tmp_path} (pid {os.getpid()}, "
                    "http://127.0.0.1:8123/scan): use it, stop it (Ctrl-C in its terminal), or set DATA_DIR to "
                    "another folder")
