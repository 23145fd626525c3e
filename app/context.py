"""Per-process resources (opened by the app's lifespan) and the per-request GraphQL context."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import asyncpg
from broadcaster import Broadcast
from starlette.requests import Request
from starlette.responses import Response
from starlette.websockets import WebSocket

from app.auth import Identity, TokenVerifier, bearer_token
from app.errors import Unauthenticated
from app.events import PostgresNotifyBackend
from app.jobs import JobStore
from app.observability.logs import bind_ids
from app.queue.producer import JobPublisher
from app.services.outbox import OutboxRelay
from app.services.watch import JobBatchReader
from app.settings import Settings


@dataclass(slots=True)
class Resources:
    """What one API process shares across requests."""

    settings: Settings
    pool: asyncpg.Pool  # every statement of this process (app.db)
    jobs: JobStore  # the jobs' reads and changes, on `pool`
    watch_reads: JobBatchReader  # the subscriptions' batched re-reads, through `jobs`
    publisher: JobPublisher
    outbox: OutboxRelay
    broadcast: Broadcast  # the job watchers' subscriptions (app.events)
    events: PostgresNotifyBackend  # its backend: the LISTEN connection (for /readyz) and the watched jobs


@dataclass(slots=True)
class Context:
    """The GraphQL context: one per HTTP request or websocket connection."""

    request: Request | WebSocket
    response: Response | WebSocket | None
    resources: Resources
    connection_params: dict[str, Any] | None = None
    verifier: TokenVerifier | None = field(default=None, repr=False)  # the process's (JWKS keys cached there)
    _identity: Identity | None = field(default=None, repr=False)

    def identity(self) -> Identity:
        """The verified caller; Unauthenticated when there is no valid token."""
        if self._identity is None:
            self._identity = authenticate(self.authorization(), self.verifier or TokenVerifier(self.resources.settings))
            bind_ids(user_id=self._identity.user_id)  # in this request's log lines from here on
        return self._identity

    def authorization(self) -> str | None:
        """The Authorization value: the header, or on a websocket connection_init's payload (either case)."""
        if self.connection_params is not None:
            value = self.connection_params.get("Authorization") or self.connection_params.get("authorization")
            return value if isinstance(value, str) else None
        return self.request.headers.get("authorization")


def authenticate(authorization: str | None, verifier: TokenVerifier) -> Identity:
    """Verify an Authorization value; Unauthenticated when it is missing or bad."""
    token = bearer_token(authorization)
    if token is None:
        raise Unauthenticated("an Authorization: Bearer token is required")
    return verifier.verify(token)
