"""Pure ASGI guards in front of /graphql: a request body ceiling and CSRF protection for simple requests.

BodyLimit refuses a request whose Content-Length is over the limit before reading any of
it, and stops reading a streamed (chunked) body as soon as it passes the limit: the app
never holds more than the limit in memory, whatever the client sends.

PreflightRequired follows the GraphQL multipart request spec's advice (as Apollo Server
does): a POST that a browser could send cross-site without a CORS preflight (a
multipart, url-encoded or text/plain body, or none) must carry `Apollo-Require-Preflight`
or `X-Apollo-Operation-Name`, headers that force a preflight. JSON POSTs already do.
"""

from __future__ import annotations

import json

from starlette.types import ASGIApp, Message, Receive, Scope, Send

SIMPLE_CONTENT_TYPES = frozenset({"multipart/form-data", "application/x-www-form-urlencoded", "text/plain", ""})
PREFLIGHT_HEADERS = (b"apollo-require-preflight", b"x-apollo-operation-name")


class BodyTooLarge(Exception):
    """Raised from `receive` once a body passes the limit; BodyLimit turns it into a 413."""


async def _error(send: Send, status: int, code: str, message: str, headers: list[tuple[bytes, bytes]]) -> None:
    body = json.dumps({"errors": [{"message": message, "extensions": {"code": code}}]}).encode()
    await send({
        "type": "http.response.start", "status": status,
        "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode()), *headers],
    })
    await send({"type": "http.response.body", "body": body})


class BodyLimit:
    """413 for a body over `max_bytes`, decided from Content-Length or while the body streams in."""

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = dict(scope.get("headers") or []).get(b"content-length")
        if declared is not None and (not declared.isdigit() or int(declared) > self.max_bytes):
            await self._refuse(send)
            return
        received = 0
        started = False

        async def counting_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_bytes:
                    raise BodyTooLarge
            return message

        async def tracking_send(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, counting_receive, tracking_send)
        except BodyTooLarge:
            if started:
                raise
            await self._refuse(send)

    async def _refuse(self, send: Send) -> None:
        await _error(send, 413, "PAYLOAD_TOO_LARGE", f"the request body is larger than {self.max_bytes} bytes",
                     [(b"connection", b"close")])


class PreflightRequired:
    """400 for a POST to `path` with a simple content type and none of the preflight-forcing headers."""

    def __init__(self, app: ASGIApp, path: str = "/graphql") -> None:
        self.app = app
        self.path = path

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["method"] == "POST" and scope["path"] == self.path:
            headers = dict(scope.get("headers") or [])
            content_type = headers.get(b"content-type", b"").decode("latin-1").split(";")[0].strip().lower()
            if content_type in SIMPLE_CONTENT_TYPES and not any(headers.get(h) for h in PREFLIGHT_HEADERS):
                await _error(
                    send, 400, "BAD_REQUEST",
                    "this request needs an Apollo-Require-Preflight header (CSRF protection)", [],
                )
                return
        await self.app(scope, receive, send)
