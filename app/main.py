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
from starlette.routing import Route
from starlette.types import ASGIApp, Receive, Scope, Send
from starlette.websockets import WebSocket
from strawberry.exceptions import ConnectionRejectionError
from strawberry.subscriptions import GRAPHQL_TRANSPORT_WS_PROTOCOL, GRAPHQL_WS_PROTOCOL
from strawberry.types.unset import UnsetType

from app.auth import TokenVerifier, bearer_token
from app.context import Context, Resources, authenticate
from app.db import create_pool, database_reachable
from app.errors import Unauthenticated
from app.events import create_broadcast
from app.graphql import build_schema
from app.graphql_http import GraphQLOverHTTP
from app.jobs import JobStore
from app.observability.logs import request_id_var
from app.observability.metrics import metrics_routes
from app.observability.tracing import TracingMiddleware, configure_tracing, shutdown_tracing
from app.pages import graphiql_html, page_routes
from app.queue.producer import JobPublisher
from app.security.admission import BodyAdmission, admission_options
from app.security.http import BodyLimit, PreflightRequired
from app.security.websocket import FoodaiTransportWSHandler
from app.security.websocket import websocket_server_options as bounded_websocket_options
from app.services.outbox import OutboxRelay
from app.services.watch import JobBatchReader
from app.settings import Settings

log = logging.getLogger("foodai.api")


class FoodaiGraphQL(GraphQLOverHTTP[Context, None]):
    """Strawberry's ASGI view, to the GraphQL over HTTP spec, with our context and websocket authentication."""

    graphql_transport_ws_handler_class = FoodaiTransportWSHandler

    def __init__(self, settings: Settings, resources: Callable[[], Resources]) -> None:
        protocols = [GRAPHQL_TRANSPORT_WS_PROTOCOL]
        if settings.graphql_legacy_ws:
            protocols.append(GRAPHQL_WS_PROTOCOL)
        super().__init__(
            build_schema(settings),
            graphql_ide="graphiql" if settings.graphiql_enabled else None,
            allow_queries_via_get=True,  # queries only: strawberry refuses a mutation over GET
            subscription_protocols=protocols,
            connection_init_wait_timeout=timedelta(seconds=settings.ws_connection_init_timeout_s),
            max_subscriptions_per_connection=settings.ws_max_subscriptions,
            multipart_uploads_enabled=True,
            keep_alive=True,
            keep_alive_interval=15,
        )
        self.settings = settings
        self.verifier = TokenVerifier(settings)
        self._resources = resources

    @property
    def graphql_ide_html(self) -> str:
        return graphiql_html(self.settings)  # CDN or GRAPHIQL_ASSETS_DIR; the dev token prefilled in development

    async def get_context(self, request: Request | WebSocket, response: Response | WebSocket) -> Context:
        context = Context(request=request, response=response, resources=self._resources(), verifier=self.verifier)
        if not isinstance(request, WebSocket):  # fetch the token's JWKS key now: verification itself is sync
            await self.verifier.prepare(bearer_token(context.authorization()))
        return context

    async def on_ws_connect(self, context: Context) -> UnsetType | dict[str, object] | None:
        """Authenticate the socket once, from connection_init's payload ("Authorization" or "authorization")."""
        try:
            await self.verifier.prepare(bearer_token(context.authorization()))
            context._identity = authenticate(context.authorization(), self.verifier)
        except Unauthenticated as exc:
            raise ConnectionRejectionError({"message": str(exc)}) from exc
        return await super().on_ws_connect(context)


def websocket_server_options(settings: Settings | None = None) -> dict[str, Any]:
    """uvicorn's websocket options for this API (app.security.websocket: message size, reads paused with writes)."""
    return bounded_websocket_options(*([settings.ws_max_message_bytes] if settings else []))


class GraphQLWebSocket:
    """Pure ASGI middleware: a websocket to `path` goes straight to the GraphQL view.

    The HTTP-only guards, Starlette's exception middleware and the router would otherwise
    keep one suspended coroutine frame each (and closures, and a second WebSocket object)
    for the whole life of every socket, and wrap every frame sent: ~5 KiB and a few
    function calls per event on each of thousands of idle subscriptions. Installed just
    inside RequestId, so sockets keep their request id.
    """

    def __init__(self, app: ASGIApp, graphql: ASGIApp, path: str = "/graphql") -> None:
        self.app = app
        self.graphql = graphql
        self.path = path

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "websocket" and scope["path"] == self.path:
            await self.graphql(scope, receive, send)
        else:
            await self.app(scope, receive, send)


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

        try:  # a websocket sends no response head: its frames skip the wrapper
            await self.app(scope, receive, send_with_id if scope["type"] == "http" else send)
        finally:
            request_id_var.reset(token)


@contextlib.asynccontextmanager
async def open_resources(settings: Settings) -> AsyncIterator[Resources]:
    """Open pool, producer and broadcaster; close them in reverse order."""
    pool = await create_pool(settings, application_name="foodai-api")
    jobs = JobStore(pool)
    publisher = JobPublisher(settings)
    outbox = OutboxRelay(jobs, publisher)
    try:
        await publisher.start()  # returns even while Kafka is down: jobs wait in the outbox
        outbox.start()
        broadcast, events = create_broadcast(settings.database_url)
        async with broadcast:
            yield Resources(settings, pool, jobs, JobBatchReader(jobs), publisher, outbox, broadcast, events)
    finally:
        await outbox.stop()
        await publisher.stop()
        await pool.close()


async def readiness(resources: Resources) -> dict[str, bool]:
    """What /readyz reports: database, broker and LISTEN connection, and the outbox relay alive."""
    relay = resources.outbox.task
    return {
        "database": await database_reachable(resources.pool),
        "broker": resources.publisher.connected.is_set(),
        "listener": resources.events.connected,
        "outbox": relay is not None and not relay.done(),
    }


def create_app(settings: Settings) -> Starlette:
    """The API: /graphql (HTTP and websockets), /healthz, /readyz.

    The lifespan keeps the open resources in `app.state.resources` (None outside it).
    """

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        configure_tracing(settings, role="api")  # a no-op unless OTEL_ENABLED
        try:
            async with open_resources(settings) as resources:
                app.state.resources = resources
                log.info("foodai API ready")
                try:
                    yield
                finally:
                    app.state.resources = None
        finally:
            shutdown_tracing()  # exports the spans still buffered

    async def healthz(_: Request) -> Response:
        return JSONResponse({"status": "ok"})

    async def readyz(request: Request) -> Response:
        resources: Resources | None = request.app.state.resources
        checks = await readiness(resources) if resources else {"started": False}
        ready = all(checks.values())
        return JSONResponse({"ready": ready, "checks": checks}, status_code=200 if ready else 503)

    async def root(_: Request) -> Response:
        return RedirectResponse("/graphql")

    graphql = FoodaiGraphQL(settings, lambda: app.state.resources)
    app = Starlette(
        routes=[
            Route("/graphql", graphql, methods=["GET", "POST"]),  # its websockets: GraphQLWebSocket
            Route("/healthz", healthz),
            Route("/readyz", readyz),
            Route("/", root),
            *page_routes(settings),
            *metrics_routes(settings),
        ],
        lifespan=lifespan,
    )
    app.state.resources = None
    pool = lambda: app.state.resources and app.state.resources.pool  # noqa: E731 - None outside the lifespan
    app.add_middleware(BodyAdmission, **admission_options(settings, graphql.verifier, pool))
    app.add_middleware(PreflightRequired)
    app.add_middleware(BodyLimit, max_bytes=settings.request_bytes_limit,
                       json_max_bytes=settings.json_request_bytes_limit)
    if settings.otel_enabled:
        app.add_middleware(TracingMiddleware)  # inside RequestId: its spans carry the request id
    app.add_middleware(GraphQLWebSocket, graphql=graphql)
    app.add_middleware(RequestId)
    return app
