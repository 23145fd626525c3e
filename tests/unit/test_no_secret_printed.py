"""No start-up error prints a secret: every settings error, provoked with a recognizable JWT_SECRET
and DATABASE_URL password, for serve, worker, migrate and dev, in one line on stderr and exit 2 or 3."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from app.cli import main
from tests.support import ROOT

JWT_SENTINEL = "jwt-SENTINEL-7f3a9c-" + "s" * 20  # 40 characters: a valid production length
SHORT_SENTINEL = "short-SENTINEL-b41e"
DB_SENTINEL = "dbpw-SENTINEL-52d8"
DB_URL = f"postgresql://foodai:{DB_SENTINEL}@127.0.0.1:1/foodai"
SENTINELS = ("SENTINEL",)

# each: the environment that provokes it, and a part of the one line it must print
SETTINGS_ERRORS = {
    "production-no-secret": ({"APP_ENV": "production", "JWT_SECRET": ""}, "JWT_SECRET must be"),
    "production-short-secret": ({"APP_ENV": "production", "JWT_SECRET": SHORT_SENTINEL}, "at least 32 characters"),
    "production-fake-recognizer": ({"APP_ENV": "production", "RECOGNIZER_RECEIPT": "fake"}, "fake recognizer"),
    "public-key-and-jwks": ({"JWT_PUBLIC_KEY": "pem", "JWT_JWKS_URL": "https://idp/jwks.json"}, "not both"),
    "production-http-jwks": ({"APP_ENV": "production", "JWT_JWKS_URL": "http://idp/jwks.json"}, "https://"),
    "not-a-number": ({"DB_POOL_SIZE": "ten"}, "DB_POOL_SIZE: Input should be a valid integer"),
    "out-of-range": ({"JWT_LEEWAY_S": "9999"}, "JWT_LEEWAY_S: Input should be less than or equal to 300"),
    "unknown-choice": ({"JWT_ALGORITHM": "none", "APP_ENV": "staging"}, "APP_ENV: Input should be"),
    "not-postgresql": ({"DATABASE_URL": f"mysql://foodai:{DB_SENTINEL}@db:3306/foodai"}, "postgresql:// URL"),
    "database-down": ({}, "cannot reach PostgreSQL at 127.0.0.1:1 (connection refused)"),
}


def _environment(extra: dict[str, str]) -> dict[str, str]:
    base = {k: v for k, v in os.environ.items()
            if not k.startswith(("APP_", "JWT_", "DATABASE_", "RECOGNIZER_", "DB_", "DATA_DIR", "LOG_"))}
    env = {**base, "JWT_SECRET": JWT_SENTINEL, "DATABASE_URL": DB_URL, "LOG_FORMAT": "json", **extra}
    return {k: v for k, v in env.items() if v != ""}


@pytest.mark.parametrize("command", ["serve", "migrate", "dev"])
@pytest.mark.parametrize("case", sorted(SETTINGS_ERRORS))
def test_each_settings_error_is_one_line_without_a_secret(
    command: str, case: str, monkeypatch: pytest.MonkeyPatch, capfd: pytest.CaptureFixture[str], tmp_path: object
) -> None:
    extra, expected = SETTINGS_ERRORS[case]
    monkeypatch.setattr(os, "environ", _environment({**extra, "DATA_DIR": str(tmp_path)}))
    with pytest.raises(SystemExit) as exited:
        main([command, "--port", "0"] if command in ("serve", "dev") else [command])
    out, err = capfd.readouterr()
    assert exited.value.code in (2, 3), err
    assert out == "" and err.count("\n") == 1 and err.startswith(f"foodai {command}: "), err
    assert expected in err
    assert not any(s in err for s in SENTINELS), err


@pytest.mark.parametrize("case", ["production-short-secret", "not-postgresql", "database-down"])
def test_the_worker_process_prints_one_line_without_a_secret(case: str) -> None:
    extra, expected = SETTINGS_ERRORS[case]
    done = subprocess.run([sys.executable, "-m", "app.worker"], cwd=ROOT, env=_environment(extra),
                          capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode in (2, 3) and done.stdout == "", done.stderr
    assert done.stderr.strip().splitlines() == [done.stderr.strip()] and expected in done.stderr
    assert "SENTINEL" not in done.stderr
