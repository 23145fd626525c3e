"""create_app(settings): the Starlette app; its lifespan opens and closes every resource."""

from __future__ import annotations

import contextlib
import logging
import uuid
from collections.abc import AsyncIterator, Callable
from datetime import timedelta
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response
from starlette.routing import Route, WebSocketRoute
from starlette.types import ASGIApp, Receive, Scope, Send
from starlette.websockets import WebSocket
from strawberry.asgi import GraphQL
from strawberry.exceptions import ConnectionRejectionError
from strawberry.subscriptions import GRAPHQL_TRANSPORT_WS_PROTOCOL, GRAPHQL_WS_PROTOCOL
from strawberry.types.unset import UnsetType

from app.context import Context, Resources, authenticate
from app.db import create_engine, create_session_factory
from app.events import create_broadcast
from app.queue.producer import JobPublisher, ensure_topics
from app.schema import build_schema
from app.schema.errors import request_id_var
from app.services.errors import Unauthenticated
from app.settings import Settings

log = logging.getLogger("foodai.api")


class FoodaiGraphQL(GraphQL[Context, None]):
    """Strawberry's ASGI view with our context and websocket authentication."""

    def __init__(self, settings: Settings, resources: Callable[[], Resources]) -> None:
        protocols = [GRAPHQL_TRANSPORT_WS_PROTOCOL]
        if settings.graphql_legacy_ws:
            protocols.append(GRAPHQL_WS_PROTOCOL)
        super().__init__(
            build_schema(),
            graphql_ide="graphiql" if settings.graphiql_enabled else None,
            allow_queries_via_get=True,
            subscription_protocols=protocols,
            connection_init_wait_timeout=timedelta(seconds=10),
            multipart_uploads_enabled=True,
            keep_alive=True,
            keep_alive_interval=15,
        )
        self.settings = settings
        self._resources = resources

    async def get_context(self, request: Request | WebSocket, response: Response | WebSocket) -> Context:
        return Context(request=request, response=response, resources=self._resources())

    async def on_ws_connect(self, context: Context) -> UnsetType | dict[str, object] | None:
        """Authenticate the socket once, from connection_init's payload."""
        params = context.connection_params or {}
        try:
            context._identity = authenticate(params.get("Authorization"), self.settings)
        except Unauthenticated as exc:
            raise ConnectionRejectionError({"message": str(exc)}) from exc
        return await super().on_ws_connect(context)


class RequestId:
    """Pure ASGI middleware: a request id for every request (X-Request-Id in, or new), in logs and errors."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        incoming = dict(scope.get("headers") or []).get(b"x-request-id", b"").decode("latin-1")
        request_id = incoming[:64] if incoming.isprintable() and incoming else uuid.uuid4().hex
        token = request_id_var.set(request_id)

        async def send_with_id(message: Any) -> None:
            if message["type"] == "http.response.start":
                message.setdefault("headers", []).append((b"x-request-id", request_id.encode()))
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        finally:
            request_id_var.reset(token)


@contextlib.asynccontextmanager
async def open_resources(settings: Settings) -> AsyncIterator[Resources]:
    """Open pool, producer and broadcaster; close them in reverse order."""
    engine = create_engine(settings)
    try:
        await ensure_topics(settings)
        publisher = JobPublisher(settings)
        await publisher.start()
        try:
            broadcast, events = create_broadcast(settings.database_url)
            async with broadcast:
                yield Resources(settings, engine, create_session_factory(engine), publisher, broadcast, events)
        finally:
            await publisher.stop()
    finally:
        await engine.dispose()


def create_app(settings: Settings) -> Starlette:
    """The API: /graphql (HTTP and websockets), /healthz, /readyz."""
    state: dict[str, Resources] = {}

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        async with open_resources(settings) as resources:
            state["resources"] = resources
            log.info("foodai API ready")
            try:
                yield
            finally:
                state.clear()

    async def healthz(_: Request) -> Response:
        return JSONResponse({"status": "ok"})

    async def readyz(_: Request) -> Response:
        resources = state.get("resources")
        checks = {"listener": bool(resources and resources.events.connected)}
        if resources is not None:
            try:
                async with resources.engine.connect() as conn:
                    await conn.exec_driver_sql("SELECT 1")
                checks["database"] = True
            except Exception:  # noqa: BLE001 - any failure means not ready
                checks["database"] = False
        ready = all(checks.values()) and bool(checks)
        return JSONResponse({"ready": ready, "checks": checks}, status_code=200 if ready else 503)

    async def root(_: Request) -> Response:
        return RedirectResponse("/graphql")

    graphql = FoodaiGraphQL(settings, lambda: state["resources"])
    app = Starlette(
        routes=[
            Route("/graphql", graphql, methods=["GET", "POST"]),
            WebSocketRoute("/graphql", graphql),
            Route("/healthz", healthz),
            Route("/readyz", readyz),
            Route("/", root),
        ],
        lifespan=lifespan,
    )
    app.add_middleware(RequestId)
    return app
