"""A tiny HTTP server for a process that has no web app (the worker): /metrics, /healthz, /readyz.

GET only, one request per connection, no dependencies beyond asyncio. The worker starts
it when WORKER_METRICS_PORT is set and stops it when it stops.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import AsyncIterator, Awaitable, Callable

from app.observability.metrics import exposition

log = logging.getLogger(__name__)
ReadinessCheck = Callable[[], Awaitable[dict[str, bool]]]
_REASONS = {200: "OK", 404: "Not Found", 405: "Method Not Allowed", 503: "Service Unavailable"}


async def _respond(writer: asyncio.StreamWriter, status: int, body: bytes, content_type: str) -> None:
    head = (f"HTTP/1.1 {status} {_REASONS[status]}\r\nContent-Type: {content_type}\r\n"
            f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n")
    writer.write(head.encode() + body)
    await writer.drain()


async def _route(method: str, path: str, ready: ReadinessCheck) -> tuple[int, bytes, str]:
    if method != "GET":
        return 405, b"GET only\n", "text/plain"
    path = path.split("?", 1)[0]
    if path == "/metrics":
        body, content_type = exposition()
        return 200, body, content_type
    if path == "/healthz":
        return 200, b'{"status":"ok"}', "application/json"
    if path == "/readyz":
        checks = await ready()
        ok = all(checks.values())
        return (200 if ok else 503), json.dumps({"ready": ok, "checks": checks}).encode(), "application/json"
    return 404, b"not found\n", "text/plain"


def _handler(ready: ReadinessCheck) -> Callable[[asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]]:
    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            async with asyncio.timeout(10):
                request_line = (await reader.readline()).decode("latin-1").split()
                while (await reader.readline()) not in (b"\r\n", b"\n", b""):
                    pass  # headers: nothing here needs them
                if len(request_line) < 2:
                    return
                await _respond(writer, *await _route(request_line[0], request_line[1], ready))
        except (TimeoutError, OSError) as exc:
            log.debug("ops server: dropped a connection: %r", exc)
        finally:
            writer.close()
            with contextlib.suppress(OSError):
                await writer.wait_closed()

    return handle


@contextlib.asynccontextmanager
async def ops_server(host: str, port: int, ready: ReadinessCheck) -> AsyncIterator[int | None]:
    """Serve /metrics, /healthz and /readyz on host:port while inside; yields the bound port (None when port is 0)."""
    if not port:
        yield None
        return
    server = await asyncio.start_server(_handler(ready), host, port)
    bound = int(server.sockets[0].getsockname()[1])
    log.info("metrics and health on http://%s:%d/metrics", host, bound)
    try:
        yield bound
    finally:
        server.close()
        await server.wait_closed()
