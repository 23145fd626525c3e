"""`foodai scan PHOTO...`: submit photos to a running foodai, watch the job live, print the items.

With no flags it talks to the `foodai dev` running on this DATA_DIR, at the URL and with
the dev token it recorded in DATA_DIR/dev.json (`./dev.sh --port 8123` included); without
one, to http://127.0.0.1:8000 with a token minted from the development secret in DATA_DIR.
`--url` and `--token` (or FOODAI_URL and FOODAI_TOKEN) point it anywhere else. Progress
goes to stderr; the items go to stdout as a table, or as JSON with --json. Why an image
gave nothing (its note or error) and a printed total that the items do not add up to are
shown under the table, and listed in the JSON's "problems". Exit status: 0 when the job
is DONE, 1 when it FAILED, 2 when it could not be submitted or watched.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import os
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
from pydantic import SecretStr
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table
from websockets.asyncio.client import connect

from app.settings import DEV_SECRET_PLACEHOLDER, AppEnv, Settings

JOB_FIELDS = """
  id jobType status lang imageCount imagesDone error createdAt completedAt
  result {
    items { name rawText quantity unit category price confidence imageIndex }
    images { index status itemCount durationMs error note }
    receipt { merchant purchasedAt currency total totalMatches }
  }
"""
SUBMIT = (
    "mutation Submit($images: [ImageInput!]!, $lang: String!) {"
    " %s(images: $images, lang: $lang) { " + JOB_FIELDS + " } }"
)
WATCH = "subscription Watch($id: ID!) { productJob(id: $id) { " + JOB_FIELDS + " } }"
TERMINAL = ("DONE", "FAILED")
DEFAULT_URL = "http://127.0.0.1:8000"


class ScanError(Exception):
    """The job could not be submitted or watched (the message says why)."""


@dataclass(frozen=True)
class Target:
    url: str
    token: str

    @property
    def graphql(self) -> str:
        return self.url.rstrip("/") + "/graphql"

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}


def with_dev_secret(settings: Settings) -> Settings:
    """The settings with the secret `foodai dev` keeps in DATA_DIR when JWT_SECRET is not set."""
    path = settings.data_dir / "jwt-secret"
    if settings.jwt_secret.get_secret_value() != DEV_SECRET_PLACEHOLDER or not path.exists():
        return settings
    return settings.model_copy(update={"jwt_secret": SecretStr(path.read_text().strip())})


def dev_token() -> str | None:
    """The token `foodai dev` prints: the dev user, signed with JWT_SECRET or the secret in DATA_DIR."""
    # deferred: app.cli imports this module to build its parser, and `foodai --help` stays fast
    from app.auth import issue_token
    from app.dev import DEV_USER

    settings = with_dev_secret(Settings())
    if settings.app_env is AppEnv.PRODUCTION or settings.jwt_secret.get_secret_value() == DEV_SECRET_PLACEHOLDER:
        return None
    return issue_token(settings, user_id=DEV_USER, plan="free")


def default_target(url: str | None, token: str | None) -> tuple[str, str | None]:
    """--url/--token (or FOODAI_URL/FOODAI_TOKEN), else the running `foodai dev`'s, else port 8000."""
    from app.dev import read_dev_info  # deferred: as in dev_token

    info = read_dev_info(Settings().data_dir) if not (url and token) else None
    if info and (url is None or url.rstrip("/") == info["url"]):
        return info["url"], token or info["token"]
    return url or DEFAULT_URL, token or dev_token()


def _check(body: dict[str, Any]) -> dict[str, Any]:
    if body.get("errors"):
        raise ScanError("; ".join(
            f"{e.get('message')} ({(e.get('extensions') or {}).get('code', '?')})" for e in body["errors"]
        ))
    data: dict[str, Any] = body["data"]
    return data


async def submit(target: Target, photos: list[Path], *, products: bool, lang: str) -> dict[str, Any]:
    """Send the photos (a multipart upload: a base64 JSON body holds far fewer) and return the PENDING job."""
    field = "submitProducts" if products else "submitReceipt"
    operations = {"query": SUBMIT % field, "variables": {"images": [{"upload": None} for _ in photos], "lang": lang}}
    form = {"operations": json.dumps(operations),
            "map": json.dumps({str(i): [f"variables.images.{i}.upload"] for i in range(len(photos))})}
    files = {str(i): (p.name, p.read_bytes(), "application/octet-stream") for i, p in enumerate(photos)}
    async with httpx.AsyncClient(timeout=60) as client:
        try:
            response = await client.post(target.graphql, headers={**target.headers, "Apollo-Require-Preflight": "1"},
                                         data=form, files=files)
        except httpx.TransportError as exc:
            raise ScanError(f"cannot reach {target.url}: {exc!r} (is `foodai dev` running?)") from exc
    try:
        body = response.json()
    except ValueError as exc:
        raise ScanError(f"{target.graphql} answered HTTP {response.status_code}, not GraphQL") from exc
    job: dict[str, Any] = _check(body)[field]
    return job


async def watch(target: Target, job_id: str, on_update: Any, *, timeout_s: float) -> dict[str, Any]:
    """Follow the job over graphql-transport-ws until it is DONE or FAILED; return its last state."""
    ws_url = target.graphql.replace("http", "ws", 1)
    last: dict[str, Any] | None = None
    async with asyncio.timeout(timeout_s), connect(ws_url, subprotocols=["graphql-transport-ws"]) as sock:  # type: ignore[list-item]
        await sock.send(json.dumps({"type": "connection_init", "payload": target.headers}))
        await sock.send(json.dumps({"id": "1", "type": "subscribe",
                                    "payload": {"query": WATCH, "variables": {"id": job_id}}}))
        async for raw in sock:
            message = json.loads(raw)
            kind = message.get("type")
            if kind == "ping":
                await sock.send(json.dumps({"type": "pong"}))
            elif kind == "next":
                last = _check(message["payload"])["productJob"]
                on_update(last)
            elif kind == "error":
                raise ScanError("; ".join(e.get("message", "?") for e in message["payload"]))
            elif kind == "complete":
                break
    if last is None or last["status"] not in TERMINAL:
        raise ScanError("the server closed the subscription before the job finished")
    return last


def problems(job: dict[str, Any]) -> list[str]:
    """Why images gave nothing (their notes and errors), and a printed total the items do not add up to."""
    result = job.get("result") or {}
    found = []
    for image in result.get("images") or []:
        for why in (image.get("error"), image.get("note")):
            if why:
                found.append(f"photo {image['index'] + 1}: {why}")
    receipt = result.get("receipt") or {}
    if receipt.get("total") is not None and not receipt.get("totalMatches"):
        priced = [i["price"] for i in result.get("items") or [] if i.get("price") is not None]
        found.append(f"the printed total {receipt['total']:.2f} does not match the items "
                     f"({len(priced)} priced, adding up to {sum(priced):.2f}): check for missing or misread lines")
    return found


def items_table(job: dict[str, Any]) -> Table:
    """The job's items as a rich table."""
    result = job.get("result") or {}
    receipt = result.get("receipt") or {}
    caption = None
    if receipt.get("total") is not None:
        merchant, currency = receipt.get("merchant") or "receipt", receipt.get("currency") or ""
        caption = f"{merchant} · total {receipt['total']:.2f} {currency}".rstrip()
        caption += " (matches the items)" if receipt.get("totalMatches") else " (does NOT match the items)"
    table = Table(title=f"{job['jobType'].lower()} {job['id']} · {job['status']}", caption=caption)
    for name, justify in (("#", "right"), ("name", "left"), ("qty", "right"), ("unit", "left"),
                          ("category", "left"), ("price", "right"), ("conf.", "right"), ("photo", "right")):
        table.add_column(name, justify=justify)  # type: ignore[arg-type]
    for i, item in enumerate(result.get("items") or [], 1):
        price = "" if item.get("price") is None else f"{item['price']:.2f}"
        table.add_row(str(i), item["name"], f"{item['quantity']:g}", item["unit"], item["category"], price,
                      f"{item['confidence'] * 100:.0f}%", str(item["imageIndex"] + 1))
    return table


def print_table(job: dict[str, Any], out: Console) -> None:
    """The table, then what went wrong: the job's error, each image's note or error, a total mismatch."""
    items = (job.get("result") or {}).get("items") or []
    out.print(items_table(job))
    if job.get("error"):
        out.print(f"[red]{job['error']}[/red]", soft_wrap=True, markup=False)
    if not items and job["status"] == "DONE":
        out.print("No items were found.", style="yellow")
    for line in problems(job):
        out.print(f"! {line}", style="yellow", soft_wrap=True, markup=False)


async def scan(target: Target, photos: list[Path], *, products: bool, lang: str, timeout_s: float,
               console: Console) -> dict[str, Any]:
    """Submit and watch with a live progress bar on `console`; the final job."""
    job = await submit(target, photos, products=products, lang=lang)
    columns = (TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(),
               TextColumn("{task.fields[status]}"), TimeElapsedColumn())
    with Progress(*columns, console=console, transient=False) as progress:
        task = progress.add_task(f"job {job['id'][:8]}", total=job["imageCount"], status=job["status"].lower())

        def update(state: dict[str, Any]) -> None:
            progress.update(task, completed=state["imagesDone"], status=state["status"].lower())

        return await watch(target, job["id"], update, timeout_s=timeout_s)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The `foodai scan` options."""
    parser.add_argument("photos", nargs="+", type=Path, metavar="PHOTO", help="image files (one job)")
    parser.add_argument("--products", action="store_true", help="photos of products (default: a receipt)")
    parser.add_argument("--lang", default="en", help="language of the receipt or labels (default: en)")
    parser.add_argument("--url", default=os.environ.get("FOODAI_URL") or None,
                        help="the API (env FOODAI_URL; default: the running `foodai dev`'s URL from "
                             f"DATA_DIR/dev.json, else {DEFAULT_URL})")
    parser.add_argument("--token", default=os.environ.get("FOODAI_TOKEN") or None,
                        help="bearer token (env FOODAI_TOKEN; default: the `foodai dev` token)")
    parser.add_argument("--json", action="store_true",
                        help='print the finished job as JSON, with a "problems" list (notes, errors, total mismatch)')
    parser.add_argument("--timeout", type=float, default=300.0, help="seconds to wait for the job (default: 300)")


def run(args: argparse.Namespace) -> int:
    """`foodai scan`: the exit status (0 done, 1 failed, 2 error)."""
    err = Console(stderr=True)
    logging.getLogger("httpx").setLevel(logging.WARNING)  # its request lines would interleave with the progress
    missing = [str(p) for p in args.photos if not p.is_file()]
    if missing:
        err.print(f"[red]no such file:[/red] {', '.join(missing)}")
        return 2
    url, token = default_target(args.url, args.token)
    if not token:
        err.print("[red]no token:[/red] pass --token or set FOODAI_TOKEN (`foodai token` mints one)")
        return 2
    try:
        job = asyncio.run(scan(Target(url, token), args.photos, products=args.products, lang=args.lang,
                               timeout_s=args.timeout, console=err))
    except (ScanError, TimeoutError, OSError) as exc:
        err.print(f"[red]foodai scan:[/red] {exc or 'timed out'}")
        return 2
    if args.json:
        sys.stdout.write(json.dumps({**job, "problems": problems(job)}, indent=2) + "\n")
    else:
        print_table(job, Console())
    return 0 if job["status"] == "DONE" else 1
