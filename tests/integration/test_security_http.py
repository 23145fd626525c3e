"""The HTTP edge: body ceiling (Content-Length and streamed), CSRF preflight for simple requests, GET, batching."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator
from typing import Any

import asyncpg
import httpx
import psutil

from app.settings import Settings
from tests.integration.security_helpers import NOTHING, SUBMIT, multipart_fields, stored, stored_for
from tests.support import Api, ChildProcess, b64, new_user, png_bytes

MIB = 1024 * 1024
GIB = 1024 * MIB


class RssSampler:
    """Samples a process's resident memory every 20 ms while in use; keeps the peak."""

    def __init__(self, pid: int) -> None:
        self.process = psutil.Process(pid)
        self.before = self.peak = self.process.memory_info().rss
        self._task: asyncio.Task[None] | None = None

    async def _run(self) -> None:
        while True:
            self.peak = max(self.peak, self.process.memory_info().rss)
            await asyncio.sleep(0.02)

    async def __aenter__(self) -> RssSampler:
        self._task = asyncio.create_task(self._run())
        return self

    async def __aexit__(self, *_: object) -> None:
        assert self._task is not None
        self._task.cancel()
        self.peak = max(self.peak, self.process.memory_info().rss)

    @property
    def growth_mib(self) -> float:
        return (self.peak - self.before) / MIB


class Stream:
    """An async body of `total` zero bytes in 1 MiB chunks, counting what the client actually pulled."""

    def __init__(self, total: int) -> None:
        self.total = total
        self.sent = 0

    async def __aiter__(self) -> AsyncIterator[bytes]:
        chunk = b"\x00" * MIB
        while self.sent < self.total:
            self.sent += len(chunk)
            yield chunk


async def _post_stream(api: Api, body: Stream, headers: dict[str, str]) -> tuple[httpx.Response | None, float]:
    started = time.monotonic()
    async with httpx.AsyncClient(timeout=60) as client:
        try:
            response = await client.post(api.base_url + "/graphql", content=body.__aiter__(), headers=headers)
        except (httpx.WriteError, httpx.RemoteProtocolError, httpx.ReadError) as exc:
            print(f"client error after {time.monotonic() - started:.2f}s: {exc!r}")
            response = None  # the server hung up mid-upload without the client reading its answer
    return response, time.monotonic() - started


async def _raw_chunked_post(api: Api, headers: dict[str, str], total: int) -> tuple[bytes, int]:
    """POST `total` bytes chunked over a plain socket, reading concurrently: (the answer's first bytes, bytes sent).

    Unlike httpx, this client reads while it writes, so it sees an early answer even
    when the server hangs up right after it (the unread upload then resets the socket).
    """
    host, port = api.base_url.removeprefix("http://").split(":")
    reader, writer = await asyncio.open_connection(host, int(port))
    head = "".join(f"{k}: {v}\r\n" for k, v in headers.items())
    writer.write(f"POST /graphql HTTP/1.1\r\nHost: {host}\r\nTransfer-Encoding: chunked\r\n{head}\r\n".encode())
    async def read_answer() -> bytes:
        head = await reader.readuntil(b"\r\n\r\n")
        length = next(int(line.split(b":")[1]) for line in head.split(b"\r\n") if line.lower().startswith(
            b"content-length:"))
        return head + await reader.readexactly(length)

    answer = asyncio.create_task(read_answer())
    sent = 0
    chunk = b"%x\r\n" % MIB + b"\x00" * MIB + b"\r\n"
    try:
        while sent < total and not answer.done():
            writer.write(chunk)
            await writer.drain()
            sent += MIB
    except ConnectionError:
        pass
    try:
        async with asyncio.timeout(10):
            return await answer, sent
    finally:
        writer.close()


def _assert_413(response: httpx.Response | None, settings: Settings) -> None:
    if response is None:
        return
    assert response.status_code == 413
    limit = settings.json_request_bytes_limit  # these bodies are JSON
    assert response.json() == {"errors": [{
        "message": f"the request body is larger than {limit} bytes",
        "extensions": {"code": "PAYLOAD_TOO_LARGE", "max": limit},
    }]}


async def test_1_gib_streamed_body_is_refused_without_buffering(
    api: Api, api_process: tuple[ChildProcess, str], settings: Settings, db: asyncpg.Connection
) -> None:
    """Chunked (no Content-Length): the API stops reading at the limit, answers 413 and hangs up."""
    user = new_user(settings)
    limit = settings.json_request_bytes_limit
    body = Stream(GIB)
    before = await stored(db)
    async with RssSampler(api_process[0].proc.pid) as rss:
        response, elapsed = await _post_stream(api, body, {**user.headers, "Content-Type": "application/json"})
    _assert_413(response, settings)
    answer, raw_sent = await _raw_chunked_post(api, {**user.headers, "Content-Type": "application/json"}, GIB)
    assert answer.startswith(b"HTTP/1.1 413 "), answer[:200]
    assert b'"code": "PAYLOAD_TOO_LARGE"' in answer
    assert raw_sent < limit + 256 * MIB
    print(f"1 GiB streamed: 413 after {elapsed:.2f}s, client pulled {body.sent / MIB:.0f} MiB,"
          f" limit {limit / MIB:.0f} MiB, API RSS +{rss.growth_mib:.0f} MiB (peak {rss.peak / MIB:.0f} MiB)")
    assert body.sent < limit + 256 * MIB < GIB  # the upload was cut short
    assert rss.growth_mib < limit / MIB + 64  # never more than the limit held, never the gigabyte
    assert elapsed < 30
    assert await stored(db) == before
    assert (await api.gql("{ me { id } }", user=user))["data"]["me"]["id"] == str(user.id)  # still serving


async def test_declared_content_length_over_the_limit_is_refused_before_reading(
    api: Api, api_process: tuple[ChildProcess, str], settings: Settings, db: asyncpg.Connection
) -> None:
    user = new_user(settings)
    body = Stream(GIB)
    before = await stored(db)
    async with RssSampler(api_process[0].proc.pid) as rss:
        response, elapsed = await _post_stream(
            api, body, {**user.headers, "Content-Type": "application/json", "Content-Length": str(GIB)}
        )
    _assert_413(response, settings)
    print(f"Content-Length 1 GiB: answered after {elapsed:.2f}s, client pulled {body.sent / MIB:.0f} MiB,"
          f" API RSS +{rss.growth_mib:.0f} MiB")
    assert rss.growth_mib < 32
    assert body.sent < 256 * MIB
    assert await stored(db) == before


async def test_multipart_post_without_the_preflight_header_is_refused(
    api: Api, settings: Settings, db: asyncpg.Connection
) -> None:
    """What a cross-site <form enctype=multipart/form-data> could send: no custom header, so no preflight."""
    user = new_user(settings)
    fields = multipart_fields(SUBMIT, {"images": [{"upload": None}]}, 1)
    files = {"0": ("r.png", png_bytes(), "image/png")}
    response = await api.client.post(
        api.base_url + "/graphql", data=fields, files=files,
        headers={**user.headers, "Origin": "https://evil.example"},
    )
    assert response.status_code == 400
    assert response.json() == {"errors": [{
        "message": "this request needs an Apollo-Require-Preflight header (CSRF protection)",
        "extensions": {"code": "BAD_REQUEST"},
    }]}
    for content_type, content in (("text/plain", json.dumps({"query": "{ me { id } }"})),
                                  ("application/x-www-form-urlencoded", "query=%7B%20me%20%7B%20id%20%7D%20%7D")):
        response = await api.client.post(api.base_url + "/graphql", content=content,
                                         headers={**user.headers, "Content-Type": content_type})
        assert response.status_code == 400, content_type
    assert await stored_for(db, user) == NOTHING
    # with the header the same upload goes through
    ok = await api.client.post(api.base_url + "/graphql", data=fields, files=files,
                               headers={**user.headers, "Apollo-Require-Preflight": "true"})
    assert ok.status_code == 200 and "errors" not in ok.json(), ok.text
    assert (await stored_for(db, user))["jobs"] == 1


async def test_mutation_over_get_never_runs(api: Api, settings: Settings, db: asyncpg.Connection) -> None:
    user = new_user(settings)
    query = 'mutation { submitReceipt(images: [{base64: "' + b64(png_bytes()) + '"}]) { id } }'
    response = await api.client.get(api.base_url + "/graphql", params={"query": query}, headers=user.headers)
    assert (response.status_code, response.text) == (400, "mutations are not allowed when using GET")
    assert await stored_for(db, user) == NOTHING
    # a query over GET is fine
    response = await api.client.get(api.base_url + "/graphql", params={"query": "{ me { id } }"},
                                    headers=user.headers)
    assert response.json() == {"data": {"me": {"id": str(user.id)}}}


async def test_operation_batching_is_off(api: Api, settings: Settings, db: asyncpg.Connection) -> None:
    user = new_user(settings)
    batch: list[dict[str, Any]] = [{"query": SUBMIT, "variables": {"images": [{"base64": b64(png_bytes())}]}}] * 3
    response = await api.client.post(api.base_url + "/graphql", json=batch, headers=user.headers)
    assert (response.status_code, response.text) == (400, "Batching is not enabled")
    assert await stored_for(db, user) == NOTHING
