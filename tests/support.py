"""Test helpers: real HTTP and websocket clients, test data factories, and processes started through
the one launcher (app.embedded.launch, re-exported here)."""

from __future__ import annotations

import asyncio
import base64
import io
import json
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import numpy as np
import websockets
import zxingcpp
from PIL import Image, ImageDraw, ImageFilter

from app.auth import issue_token
from app.embedded.launch import CLEAN_EXIT, ChildProcess, start_api, start_worker, wait_ready
from app.embedded.launch import ROOT as ROOT  # re-exported: tests run commands from the project root
from app.jobs import JobStore, NewImage
from app.queue.hints import announcement
from app.settings import Settings


def png_bytes(payload: str = "", size: tuple[int, int] = (8, 8)) -> bytes:
    """A small valid PNG; `payload` rides after the image data (the fake recognizer reads it)."""
    buf = io.BytesIO()
    Image.new("RGB", size, "white").save(buf, format="PNG")
    return buf.getvalue() + payload.encode()


def scripted_image(items: str) -> bytes:
    """An image the fake recognizer reads as exactly these lines: 'name*qty*unit*price;...'."""
    return png_bytes("FOODAI-ITEMS:" + items + "\n")


EAN = "4006381333931"  # a valid EAN-13 that no bundled table holds


def shelf_photo(size: tuple[int, int] = (640, 480), seed: int = 1) -> Image.Image:
    """A busy, shop-like background: random coloured rectangles, slightly blurred."""
    rng = np.random.default_rng(seed)
    image = Image.new("RGB", size, (90, 80, 70))
    draw = ImageDraw.Draw(image)
    for _ in range(400):
        x, y = rng.integers(-60, size[0]), rng.integers(-60, size[1])
        colour = tuple(int(c) for c in rng.integers(0, 255, 3))
        draw.rectangle((x, y, x + rng.integers(20, 120), y + rng.integers(20, 120)), fill=colour)
    return image.filter(ImageFilter.GaussianBlur(1))


def package_with_barcode(code: str) -> Image.Image:
    """A blue milk-carton-like package on a busy shelf, with an EAN-13 printed on its side."""
    photo = shelf_photo()
    draw = ImageDraw.Draw(photo)
    draw.rectangle((150, 40, 490, 460), fill=(40, 90, 200))
    draw.rectangle((200, 250, 440, 420), fill=(250, 250, 250))
    symbol = zxingcpp.write_barcode_to_image(zxingcpp.create_barcode(code, zxingcpp.BarcodeFormat.EAN13), scale=2)
    bars = Image.fromarray(np.asarray(symbol)).convert("RGB")
    photo.paste(bars, (210, 260))
    return photo.rotate(4, resample=Image.Resampling.BILINEAR, fillcolor=(90, 80, 70))


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


async def store_job(conn: asyncpg.Connection, images: list[NewImage], *, job_type: str = "receipt",
                    lang: str = "en", user_id: uuid.UUID | None = None, plan: str = "free",
                    announce_to: tuple[str, str] | None = None) -> uuid.UUID:
    """A pending job (of a new user unless given), stored as a submit stores it but not published;
    announced to idle workers of `announce_to` (the paid and free topics) only when given."""
    stored = await JobStore(conn).submit(
        user_id=user_id or uuid.uuid4(), plan=plan, job_type=job_type, lang=lang, images=images,
        idempotency_key=None, limits=None,
        announce=None if announce_to is None else announcement(announce_to, ()),
    )
    return stored.job.id


@dataclass
class User:
    id: uuid.UUID
    token: str
    plan: str | None

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}


def new_user(settings: Settings, plan: str | None = "free") -> User:
    user_id = uuid.uuid4()
    return User(user_id, issue_token(settings, user_id=user_id, plan=plan), plan)


@dataclass
class Api:
    """A real HTTP GraphQL client against a running API process."""

    base_url: str
    client: httpx.AsyncClient = field(default_factory=lambda: httpx.AsyncClient(timeout=30))

    async def gql(self, query: str, variables: dict[str, Any] | None = None, *, user: User | None = None,
                  headers: dict[str, str] | None = None) -> dict[str, Any]:
        hdrs = {**(user.headers if user else {}), **(headers or {})}
        response = await self.client.post(
            self.base_url + "/graphql", json={"query": query, "variables": variables or {}}, headers=hdrs
        )
        body: dict[str, Any] = response.json()
        return body

    async def multipart(self, query: str, variables: dict[str, Any], files: dict[str, tuple[str, bytes, str]],
                        mapping: dict[str, list[str]], *, user: User) -> dict[str, Any]:
        """The GraphQL multipart request spec, as Apollo upload clients send it."""
        data = {"operations": json.dumps({"query": query, "variables": variables}), "map": json.dumps(mapping)}
        response = await self.client.post(
            self.base_url + "/graphql", data=data, files=files,
            headers={**user.headers, "Apollo-Require-Preflight": "true"},
        )
        body: dict[str, Any] = response.json()
        return body

    @asynccontextmanager
    async def ws(self, *, user: User | None, subprotocol: str = "graphql-transport-ws",
                 init_payload: dict[str, Any] | None = None) -> AsyncIterator[WsClient]:
        url = self.base_url.replace("http://", "ws://") + "/graphql"
        async with websockets.connect(url, subprotocols=[subprotocol]) as sock:  # type: ignore[list-item]
            client = WsClient(sock)
            payload = init_payload if init_payload is not None else (
                {"Authorization": f"Bearer {user.token}"} if user else {})
            await client.send({"type": "connection_init", "payload": payload})
            yield client


class WsClient:
    """graphql-transport-ws, spoken by hand so tests see every frame."""

    def __init__(self, sock: Any) -> None:
        self.sock = sock
        self._next_id = 0

    async def send(self, message: dict[str, Any]) -> None:
        await self.sock.send(json.dumps(message))

    async def recv(self, timeout: float = 30) -> dict[str, Any]:
        async with asyncio.timeout(timeout):
            while True:
                message: dict[str, Any] = json.loads(await self.sock.recv())
                if message["type"] not in ("ping", "pong", "ka"):
                    return message

    async def subscribe(self, query: str, variables: dict[str, Any]) -> str:
        self._next_id += 1
        op_id = str(self._next_id)
        await self.send({"id": op_id, "type": "subscribe", "payload": {"query": query, "variables": variables}})
        return op_id

    async def collect(self, op_id: str, timeout: float = 60) -> list[dict[str, Any]]:
        """Every `next` payload of one operation until its `complete` (or an `error`); CollectTimeout,
        holding the payloads received so far, when neither comes within `timeout`."""
        payloads: list[dict[str, Any]] = []
        try:
            async with asyncio.timeout(timeout):
                while True:
                    message = await self.recv(timeout)
                    if message.get("id") != op_id:
                        continue
                    if message["type"] == "next":
                        payloads.append(message["payload"])
                    elif message["type"] == "complete":
                        return payloads
                    elif message["type"] == "error":
                        payloads.append({"errors": message["payload"]})
                        return payloads
        except TimeoutError as exc:
            raise CollectTimeout(op_id, timeout, payloads) from exc


class CollectTimeout(TimeoutError):
    """An operation neither completed nor failed in time; `payloads` is what it sent until then."""

    def __init__(self, op_id: str, timeout: float, payloads: list[dict[str, Any]]) -> None:
        super().__init__(f"operation {op_id}: no complete within {timeout:g} s after {len(payloads)} payloads")
        self.payloads = payloads


JOB_FIELDS = """
  id jobType status lang userPlan imageCount imagesDone error createdAt startedAt completedAt
  result {
    items { name rawText quantity unit category confidence imageIndex price unitPrice storageDays }
    images { index status itemCount error note }
    receipt { merchant purchasedAt currency total totalMatches }
  }
"""
SUBMIT_RECEIPT = (
    "mutation($images: [ImageInput!]!, $lang: String! = \"en\", $key: String) {"
    " submitReceipt(images: $images, lang: $lang, idempotencyKey: $key) {" + JOB_FIELDS + "} }"
)
SUBMIT_PRODUCTS = (
    "mutation($images: [ImageInput!]!, $lang: String! = \"en\") {"
    " submitProducts(images: $images, lang: $lang) {" + JOB_FIELDS + "} }"
)
GET_JOB = "query($id: ID!) { productJob(id: $id) {" + JOB_FIELDS + "} }"
WATCH_JOB = "subscription($id: ID!) { productJob(id: $id) { id status imagesDone imageCount error } }"


@dataclass
class Served:
    api: Api
    api_child: ChildProcess
    worker_child: ChildProcess | None


@asynccontextmanager
async def serving(settings: Settings, log_dir: Path, name: str, *, worker: bool = False) -> AsyncIterator[Served]:
    """`foodai serve` (child `name`), and with `worker` a worker (`name`-worker), on these settings; yielded
    once the API is ready. Afterwards the client is closed and each process must have stopped cleanly."""
    api_child, url = start_api(name, settings, log_dir)
    worker_child = start_worker(f"{name}-worker", settings, log_dir) if worker else None
    api = Api(url)
    try:
        await wait_ready(api_child, api.base_url)
        yield Served(api, api_child, worker_child)
    finally:
        await api.client.aclose()
        if worker_child is not None:
            assert worker_child.stop() in CLEAN_EXIT, worker_child.log()[-3000:]
        assert api_child.stop() in CLEAN_EXIT, api_child.log()[-3000:]
