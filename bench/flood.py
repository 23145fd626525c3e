"""The upload flood of issue 14, shared by its test (tests/fault/test_upload_flood.py) and its
benchmark (bench/s7_flood.py); it lives in bench/ so that bench imports no test module.

Two users send maximum-size submits at once (multipart from one, base64 JSON from the
other) while a third asks `{ me { id } }` in a loop; every request's outcome is kept
(accepted with a job id, or refused with a status and `extensions.code`), with the API
process's peak RSS and the third user's latencies.
"""

from __future__ import annotations

import asyncio
import base64
import io
import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import httpx
from PIL import Image

from app.settings import Settings
from bench.common import RssSampler

MIB = 1024 * 1024
SUBMIT = "mutation($images: [ImageInput!]!) { submitReceipt(images: $images) { id } }"
PREFLIGHT = {"Apollo-Require-Preflight": "true"}


def padded_jpeg(size: int) -> bytes:
    """A valid JPEG of exactly `size` bytes: a small noisy photo, padded after its end-of-image marker
    (bytes after EOI are kept and ignored, as camera trailers are)."""
    buf = io.BytesIO()
    Image.effect_noise((640, 480), 60).convert("RGB").save(buf, format="JPEG", quality=90)
    data = buf.getvalue()
    assert len(data) <= size
    return data + b"\x00" * (size - len(data))


def max_multipart_images(settings: Settings) -> list[bytes]:
    """The largest multipart submit: MAX_IMAGES_PER_JOB images, as large as the multipart limit lets them be."""
    count = settings.max_images_per_job
    image = padded_jpeg(min(settings.max_image_bytes, (settings.request_bytes_limit - 64 * 1024) // count))
    return [image] * count


def max_json_body(settings: Settings) -> bytes:
    """The largest base64 JSON submit that fits the JSON limit: three images as large as fit."""
    count = 3
    image = padded_jpeg(min(settings.max_image_bytes, (settings.json_request_bytes_limit - 4096) * 3 // 4 // count))
    encoded = base64.b64encode(image).decode()
    body = json.dumps({"query": SUBMIT, "variables": {"images": [{"base64": encoded}] * count}}).encode()
    assert len(body) <= settings.json_request_bytes_limit
    return body


@dataclass
class Outcome:
    """One submit's answer: a job id, or a refusal's HTTP status and code (client errors: status 0)."""

    user: str
    status: int
    code: str | None = None
    job_id: str | None = None
    retry_after: str | None = None


def _outcome(user: str, response: httpx.Response) -> Outcome:
    body: dict[str, Any] = response.json()
    if body.get("data") and body["data"].get("submitReceipt"):
        return Outcome(user, response.status_code, job_id=body["data"]["submitReceipt"]["id"])
    codes = {e.get("extensions", {}).get("code") for e in body.get("errors", [])}
    return Outcome(user, response.status_code, code=",".join(sorted(str(c) for c in codes)),
                   retry_after=response.headers.get("retry-after"))


async def _submit(client: httpx.AsyncClient, url: str, user: str, headers: dict[str, str],
                  images: list[bytes] | None, json_body: bytes | None) -> Outcome:
    try:
        if json_body is not None:
            json_headers = {**headers, "Content-Type": "application/json"}
            response = await client.post(url, content=json_body, headers=json_headers)
        else:
            assert images is not None
            operations = {"query": SUBMIT, "variables": {"images": [{"upload": None}] * len(images)}}
            fields = {"operations": json.dumps(operations),
                      "map": json.dumps({str(i): [f"variables.images.{i}.upload"] for i in range(len(images))})}
            files = {str(i): (f"{i}.jpg", data, "image/jpeg") for i, data in enumerate(images)}
            response = await client.post(url, data=fields, files=files, headers={**headers, **PREFLIGHT})
    except httpx.HTTPError as exc:
        return Outcome(user, 0, code=f"client error: {exc!r}")
    return _outcome(user, response)


@dataclass
class FloodResult:
    outcomes: list[Outcome]
    me_ms: list[float] = field(default_factory=list)
    me_failures: list[str] = field(default_factory=list)
    rss_before: int = 0
    rss_peak: int = 0
    seconds: float = 0.0

    def by_code(self) -> dict[str, int]:
        """How many submits ended each way: 'accepted', or the refusal's code."""
        counts: dict[str, int] = {}
        for o in self.outcomes:
            key = "accepted" if o.job_id else f"{o.status} {o.code}"
            counts[key] = counts.get(key, 0) + 1
        return counts


async def me_loop(url: str, token: str, user_id: str, should_stop: Callable[[], bool], result: FloodResult) -> None:
    """`{ me { id } }` one after another until `should_stop()`; each latency, and every answer that was not right."""
    async with httpx.AsyncClient(timeout=60) as client:
        headers = {"Authorization": f"Bearer {token}"}
        while not should_stop():
            started = time.perf_counter()
            try:
                response = await client.post(url, json={"query": "{ me { id } }"}, headers=headers)
            except httpx.HTTPError as exc:
                result.me_failures.append(repr(exc))
                continue
            result.me_ms.append((time.perf_counter() - started) * 1000)
            if response.status_code != 200 or response.json() != {"data": {"me": {"id": user_id}}}:
                result.me_failures.append(f"{response.status_code} {response.text[:200]}")


async def flood(base_url: str, pid: int, settings: Settings, tokens: dict[str, str], me_user_id: str,
                heavy: int = 32, other: int = 8, with_me: bool = True) -> FloodResult:
    """`heavy` maximum-size multipart submits from user 'a', `other` maximum-size JSON ones from 'b', all at
    once, while (`with_me`) user 'me' queries `{ me { id } }` in a loop; returns when every submit is
    answered. The benchmark runs that loop in a process of its own instead (`with_me=False`)."""
    url = base_url + "/graphql"
    images, json_body = max_multipart_images(settings), max_json_body(settings)
    result = FloodResult([])
    done = asyncio.Event()
    limits = httpx.Limits(max_connections=heavy + other, max_keepalive_connections=0)
    async with httpx.AsyncClient(timeout=300, limits=limits) as client:
        with RssSampler(pid, interval_s=0.005) as rss:
            me = asyncio.create_task(me_loop(url, tokens["me"], me_user_id, done.is_set, result)) if with_me else None
            started = time.monotonic()
            submits = [_submit(client, url, "a", {"Authorization": f"Bearer {tokens['a']}"}, images, None)
                       for _ in range(heavy)]
            submits += [_submit(client, url, "b", {"Authorization": f"Bearer {tokens['b']}"}, None, json_body)
                        for _ in range(other)]
            result.outcomes = list(await asyncio.gather(*submits))
            result.seconds = time.monotonic() - started
            done.set()
            if me is not None:
                await me
        result.rss_before, result.rss_peak = rss.before, rss.peak
    return result
