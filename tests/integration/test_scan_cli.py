"""`foodai scan`: a real command-line process against the session's API and worker."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from app.settings import Settings
from tests.conftest import TEST_SECRET
from tests.support import ROOT, Api, User, new_user, png_bytes, scripted_image


def scan(args: list[str], env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    base = {k: v for k, v in os.environ.items() if not k.startswith(("FOODAI_", "JWT_", "DATA_DIR", "APP_ENV"))}
    return subprocess.run(
        [sys.executable, "-m", "app.cli", "scan", *args], cwd=ROOT, env={**base, **(env or {})},
        capture_output=True, text=True, timeout=120, check=False,
    )


def photo(tmp_path: Path, name: str, data: bytes) -> str:
    path = tmp_path / name
    path.write_bytes(data)
    return str(path)


def target(api: Api, user: User) -> list[str]:
    return ["--url", api.base_url, "--token", user.token]


async def test_json_output_is_the_finished_job(api: Api, settings: Settings, tmp_path: Path) -> None:
    user = new_user(settings, plan="paid")
    photos = [photo(tmp_path, "a.png", scripted_image("MILK 1L*1*l*1.19;BREAD*1*pcs*2.10")),
              photo(tmp_path, "b.png", scripted_image("BANANAS*1.2*kg*1.79"))]
    done = scan([*photos, "--json", "--lang", "de", *target(api, user)])
    assert done.returncode == 0, done.stderr
    job = json.loads(done.stdout)
    assert (job["status"], job["jobType"], job["lang"], job["imageCount"], job["imagesDone"]) == (
        "DONE", "RECEIPT", "de", 2, 2)
    assert sorted((i["rawText"], i["quantity"], i["unit"], i["price"], i["imageIndex"])
                  for i in job["result"]["items"]) == [
        ("BANANAS", 1.2, "kg", 1.79, 1), ("BREAD", 1.0, "pcs", 2.10, 0), ("MILK 1L", 1.0, "l", 1.19, 0)]
    assert "2/2" in done.stderr  # the progress bar reached every image


async def test_table_output_for_products(api: Api, settings: Settings, tmp_path: Path) -> None:
    user = new_user(settings)
    done = scan([photo(tmp_path, "eggs.png", scripted_image("EGGS 10*10*pcs*2.99")), "--products",
                 *target(api, user)], env={"COLUMNS": "160"})
    assert done.returncode == 0, done.stderr
    rows = [line for line in done.stdout.splitlines() if line.startswith("│")]
    assert len(rows) == 1
    cells = [c.strip() for c in rows[0].strip("│").split("│")]
    assert cells[0] == "1" and cells[2:4] == ["10", "pcs"] and cells[5] == "2.99" and cells[7] == "1"
    assert "products" in done.stdout and "DONE" in done.stdout


async def test_a_failed_job_exits_1_with_its_error(api: Api, settings: Settings, tmp_path: Path) -> None:
    user = new_user(settings)
    done = scan([photo(tmp_path, "bad.png", png_bytes("FOODAI-FAIL")), *target(api, user)])
    assert done.returncode == 1, done.stderr
    assert "no image could be recognized: image 0: the image could not be read (scripted failure)" in done.stdout


async def test_no_flags_uses_the_dev_token_from_the_data_dir(api: Api, settings: Settings, tmp_path: Path) -> None:
    (tmp_path / "jwt-secret").write_text(TEST_SECRET)  # what `foodai dev` keeps in DATA_DIR
    done = scan([photo(tmp_path, "a.png", scripted_image("BREAD*1*pcs*2.10")), "--json"],
                env={"DATA_DIR": str(tmp_path), "FOODAI_URL": api.base_url})
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["status"] == "DONE"


async def test_errors_exit_2_with_a_message(api: Api, settings: Settings, tmp_path: Path) -> None:
    missing = scan([str(tmp_path / "nope.jpg"), *target(api, new_user(settings))])
    assert (missing.returncode, "no such file" in missing.stderr) == (2, True)
    refused = scan([photo(tmp_path, "a.png", scripted_image("BREAD")), "--url", api.base_url, "--token", "bad"])
    assert refused.returncode == 2 and "UNAUTHENTICATED" in refused.stderr, refused.stderr
    down = scan([photo(tmp_path, "b.png", scripted_image("BREAD")), "--url", "http://127.0.0.1:9", "--token", "x"])
    assert down.returncode == 2 and "cannot reach http://127.0.0.1:9" in down.stderr, down.stderr


async def test_why_photos_gave_nothing_is_printed_in_the_table_and_the_json(
    api: Api, settings: Settings, tmp_path: Path
) -> None:
    photos = [photo(tmp_path, "empty.png", png_bytes("FOODAI-EMPTY")),
              photo(tmp_path, "bad.png", png_bytes("FOODAI-FAIL"))]
    user = new_user(settings)
    table = scan([*photos, *target(api, user)], env={"COLUMNS": "200"})
    assert "No items were found." in table.stdout, table.stdout
    assert "! photo 1: no items found in this image" in table.stdout
    assert "! photo 2: the image could not be read (scripted failure)" in table.stdout
    done = scan([*photos, "--json", *target(api, user)])
    assert json.loads(done.stdout)["problems"] == [
        "photo 1: no items found in this image", "photo 2: the image could not be read (scripted failure)"]


async def test_no_flags_uses_the_url_and_token_foodai_dev_recorded(
    api: Api, settings: Settings, tmp_path: Path
) -> None:
    user = new_user(settings)  # as if `foodai dev --port N` were running on this data folder
    (tmp_path / "dev.json").write_text(json.dumps({"pid": os.getpid(), "url": api.base_url, "token": user.token}))
    done = scan([photo(tmp_path, "a.png", scripted_image("BREAD*1*pcs*2.10")), "--json"],
                env={"DATA_DIR": str(tmp_path)})
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["status"] == "DONE"
