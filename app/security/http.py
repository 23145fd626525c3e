"""Pure ASGI guards in front of /graphql: a request body ceiling and CSRF protection for simple requests.

BodyLimit refuses a request whose Content-Length is over the limit before reading any of
it, and stops reading a streamed (chunked) body as soon as it passes the limit: the app
never holds more than the limit in memory, whatever the client sends. Multipart bodies have
a higher limit than the others (JSON with base64 images), which cost twice the memory per
byte. How many bodies are read at once is BodyAdmission's (app.security.admission).

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


class Refused(Exception):
    """A request refused at the HTTP edge: a GraphQL-shaped JSON error with `extensions.code`.

    Raised before the app runs, or from `receive` while the body streams in (`guarded` turns
    it into the answer when no response has started). `close` hangs up after the answer:
    used when the rest of the body must not be read (over the size limit); otherwise
    uvicorn reads and drops the unread body, so the client, still sending, gets the answer.
    """

    def __init__(self, status: int, code: str, message: str, *, retry_after: int | None = None, close: bool = False,
                 headers: tuple[tuple[bytes, bytes], ...] = (), **extensions: object) -> None:
        super().__init__(message)
        self.status, self.code, self.message, self.close = status, code, message, close
        self.extensions = {"code": code, **extensions}
        self.headers = [*headers, *([(b"retry-after", str(retry_after).encode())] if retry_after else []),
                        *([(b"connection", b"close")] if close else [])]

    async def answer(self, send: Send) -> None:
        """Send the error response."""
        body = json.dumps({"errors": [{"message": self.message, "extensions": self.extensions}]}).encode()
        await send({
            "type": "http.response.start", "status": self.status,
            "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode()),
                        *self.headers],
        })
        await send({"type": "http.response.body", "body": body})


async def guarded(app: ASGIApp, scope: Scope, receive: Receive, send: Send) -> None:
    """Run `app`; a Refused raised from `receive` before the response started becomes the answer."""
    started = False

    async def tracking_send(message: Message) -> None:
        nonlocal started
        started = started or message["type"] == "http.response.start"
        await send(message)

    try:
        await app(scope, receive, tracking_send)
    except Refused as refused:
        if started:
            raise
        await refused.answer(send)


def content_type(headers: dict[bytes, bytes]) -> str:
    """The media type of the request body, lower case, without parameters."""
    return headers.get(b"content-type", b"").decode("latin-1").split(";")[0].strip().lower()


class BodyLimit:
    """413 for a body over its limit, decided from Content-Length or while the body streams in.

    Multipart bodies may reach `max_bytes`; every other body (JSON, base64 images) `json_max_bytes`,
    since it costs the process about twice as much memory per byte (app.security.body_budget).
    """

    def __init__(self, app: ASGIApp, max_bytes: int, json_max_bytes: int | None = None) -> None:
        self.app = app
        self.max_bytes = max_bytes
        self.json_max_bytes = min(max_bytes, json_max_bytes or max_bytes)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = dict(scope.get("headers") or [])
        limit = self.max_bytes if content_type(headers) == "multipart/form-data" else self.json_max_bytes
        declared = headers.get(b"content-length")
        if declared is not None and (not declared.isdigit() or int(declared) > limit):
            await self._refusal(limit).answer(send)
            return
        received = 0

        async def counting_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    raise self._refusal(limit)
            return message

        await guarded(self.app, scope, counting_receive, send)

    @staticmethod
    def _refusal(limit: int) -> Refused:
        return Refused(413, "PAYLOAD_TOO_LARGE", f"the request body is larger than {limit} bytes", close=True,
                       max=limit)


class PreflightRequired:
    """400 for a POST to `path` with a simple content type and none of the preflight-forcing headers."""

    def __init__(self, app: ASGIApp, path: str = "/graphql") -> None:
        self.app = app
        self.path = path

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["method"] == "POST" and scope["path"] == self.path:
            headers = dict(scope.get("headers") or [])
            if content_type(headers) in SIMPLE_CONTENT_TYPES and not any(headers.get(h) for h in PREFLIGHT_HEADERS):
                await Refused(400, "BAD_REQUEST",
                              "this request needs an Apollo-Require-Preflight header (CSRF protection)").answer(send)
                return
        await self.app(scope, receive, send)
