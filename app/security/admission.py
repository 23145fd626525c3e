"""BodyAdmission: a pure ASGI guard that decides, from the headers alone, whether a body may be read.

Every request with a body takes its cost from the process's BodyBudget before the app reads
a byte of it, and gives it back when the app is done (answered, failed or disconnected).
Declared bodies (Content-Length) take their whole cost at once; chunked ones take it in
steps as they stream, and are refused (503, hang up) when a step does not fit.

A large body (over SMALL_BODY_BYTES, or chunked) is an upload, and first passes the
UploadGate: a valid token (401), fewer than MAX_UPLOADS_PER_USER of the caller's uploads in
flight in this process (429 TOO_MANY_UPLOADS) and a quota window not already full (429
QUOTA_EXCEEDED, as the submit would answer). Refusals are GraphQL-shaped JSON errors with
`extensions.code`, and Retry-After where waiting helps.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Callable
from typing import Any

import asyncpg
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.auth import Identity, TokenVerifier, bearer_token
from app.errors import QuotaExceeded, Unauthenticated
from app.security.body_budget import SMALL_BODY_BYTES, BodyBudget, UploadsInFlight, body_cost
from app.security.http import Refused, content_type, guarded
from app.services.admission import check_quota_before_upload
from app.services.quotas import QuotaPolicy
from app.settings import Settings

CHUNKED_STEP = 1024 * 1024  # a chunked body takes budget for this many more bytes at a time
BUSY_RETRY_AFTER_S = 1


class UploadGate:
    """The checks an upload passes before its body is read: token, uploads in flight, quota."""

    def __init__(self, verifier: TokenVerifier, in_flight: UploadsInFlight, quota: QuotaPolicy,
                 pool: Callable[[], asyncpg.Pool | None]) -> None:
        self.verifier = verifier
        self.in_flight = in_flight
        self.quota = quota
        self._pool = pool

    async def enter(self, authorization: bytes | None) -> uuid.UUID:
        """The caller, now counted in flight (call `leave` after); Refused when the upload may not start."""
        identity = await self._identity(authorization)
        if not self.in_flight.try_enter(identity.user_id):
            limit = self.in_flight.per_user
            raise Refused(429, "TOO_MANY_UPLOADS", f"at most {limit} uploads at once per user; wait for one to finish",
                          retry_after=BUSY_RETRY_AFTER_S, max=limit)
        try:
            await self._check_quota(identity)
        except BaseException:
            self.in_flight.leave(identity.user_id)
            raise
        return identity.user_id

    def leave(self, user_id: uuid.UUID) -> None:
        self.in_flight.leave(user_id)

    async def _identity(self, authorization: bytes | None) -> Identity:
        token = bearer_token(authorization.decode("latin-1") if authorization else None)
        if token is None:
            raise _unauthenticated("an Authorization: Bearer token is required to upload")
        await self.verifier.prepare(token)
        try:
            return self.verifier.verify(token)
        except Unauthenticated as exc:
            raise _unauthenticated(str(exc)) from None

    async def _check_quota(self, identity: Identity) -> None:
        pool = self._pool()
        if pool is None:  # not started (or stopping): the submit itself still counts
            return
        try:
            await check_quota_before_upload(pool, identity, self.quota)
        except QuotaExceeded as exc:
            extensions = {k: v for k, v in exc.extensions.items() if k != "code"}
            raise Refused(429, "QUOTA_EXCEEDED", str(exc), retry_after=int(extensions["retryAfterSeconds"]),
                          **extensions) from None


def _unauthenticated(message: str) -> Refused:
    return Refused(401, "UNAUTHENTICATED", message, headers=((b"www-authenticate", b"Bearer"),))


def _busy(close: bool = False) -> Refused:
    return Refused(503, "SERVER_BUSY", "the server is handling as many uploads as its memory allows; try again soon",
                   retry_after=BUSY_RETRY_AFTER_S, close=close)


class BodyAdmission:
    """Reads a body only once the budget holds its cost; uploads pass the UploadGate first."""

    def __init__(self, app: ASGIApp, *, budget: BodyBudget, gate: UploadGate, wait_s: float,
                 body_timeout_s: float) -> None:
        self.app = app
        self.budget = budget
        self.gate = gate
        self.wait_s = wait_s
        self.body_timeout_s = body_timeout_s

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        headers = dict(scope.get("headers") or []) if scope["type"] == "http" else {}
        declared = headers.get(b"content-length")
        chunked = b"chunked" in headers.get(b"transfer-encoding", b"").lower()
        if scope["type"] != "http" or not (chunked or (declared and declared.isdigit() and int(declared) > 0)):
            await self.app(scope, receive, send)
            return
        size = None if chunked else int(declared or 0)
        multipart = content_type(headers) == "multipart/form-data"
        large = size is None or size > SMALL_BODY_BYTES
        user: uuid.UUID | None = None
        cost = min(body_cost(size if size is not None else CHUNKED_STEP, multipart), self.budget.large_share)
        try:
            if large:
                user = await self.gate.enter(headers.get(b"authorization"))
            if not await self.budget.take(cost, large=large, wait_s=self.wait_s):
                raise _busy()
        except Refused as refused:
            if user is not None:
                self.gate.leave(user)
            await refused.answer(send)
            return
        meter = _Meter(self.budget, cost, multipart if chunked else None, receive,
                       asyncio.get_running_loop().time() + self.body_timeout_s)
        try:
            await guarded(self.app, scope, meter.receive, send)
        finally:
            self.budget.release(meter.held)
            if user is not None:
                self.gate.leave(user)


class _Meter:
    """The app's `receive` for one admitted body: grows a chunked body's share, enforces the body deadline."""

    def __init__(self, budget: BodyBudget, held: int, chunked_multipart: bool | None, receive: Receive,
                 deadline: float) -> None:
        self.budget, self.held, self._receive, self.deadline = budget, held, receive, deadline
        self.chunked_multipart = chunked_multipart  # None: a declared length, whose whole cost is held already
        self.received = 0
        self.complete = False

    async def receive(self) -> Message:
        if self.complete:  # after the body: only http.disconnect is left to wait for, for as long as it takes
            return await self._receive()
        try:
            async with asyncio.timeout_at(self.deadline):
                message = await self._receive()
        except TimeoutError:
            raise Refused(408, "REQUEST_TIMEOUT", "the request body did not arrive in time", close=True) from None
        if message["type"] == "http.request":
            self.received += len(message.get("body", b""))
            self.complete = not message.get("more_body", False)
            if self.chunked_multipart is not None:
                self._grow(self.chunked_multipart)
        return message

    def _grow(self, multipart: bool) -> None:
        """Take budget for the chunked bytes received so far; 503 (hang up) when it has none left."""
        step = body_cost(CHUNKED_STEP, multipart)
        while body_cost(self.received, multipart) > self.held:
            if not self.budget.try_take(step, large=True):
                raise _busy(close=True)
            self.held += step


def admission_options(settings: Settings, verifier: TokenVerifier, pool: Callable[[], asyncpg.Pool | None]
                      ) -> dict[str, Any]:
    """BodyAdmission's arguments for one API process (one budget and one count of uploads per process)."""
    gate = UploadGate(verifier, UploadsInFlight(settings.max_uploads_per_user), QuotaPolicy.from_settings(settings),
                      pool)
    return {"budget": BodyBudget(settings.body_budget_bytes, small_reserve=settings.body_budget_bytes // 8),
            "gate": gate, "wait_s": settings.body_budget_wait_ms / 1000,
            "body_timeout_s": settings.request_body_timeout_s}
