"""Optional OpenTelemetry tracing across API -> Kafka -> worker (OTEL_ENABLED, off by default).

`configure_tracing(settings, role=...)` installs a TracerProvider (service.name
`{OTEL_SERVICE_NAME}-{role}`) exporting in batches over OTLP/HTTP or to stdout as one JSON
line per span. The API's `TracingMiddleware` opens a server span per HTTP request; a job
message built inside it carries the W3C `traceparent`/`tracestate` in its Kafka headers
(`inject_headers()`, called by the message's header factory), and the worker's `job_span`
continues that trace around claim and processing.

The opentelemetry packages (the `tracing` extra) are imported only once tracing is
enabled: with it off, nothing here imports them and every helper is a no-op.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterable, Iterator
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.observability.logs import request_id_var
from app.settings import Settings

TRACER_NAME = "foodai"
_TRACE_HEADERS = ("traceparent", "tracestate")
_provider: Any = None  # the SDK's TracerProvider while tracing is on


def enabled() -> bool:
    return _provider is not None


def _exporter(settings: Settings) -> Any:
    if settings.otel_exporter == "console":
        from opentelemetry.sdk.trace.export import ConsoleSpanExporter  # optional: the tracing extra

        # one compact JSON object per line (the default is indented over many lines)
        return ConsoleSpanExporter(formatter=lambda span: span.to_json(indent=None) + os.linesep)
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter  # optional: the tracing extra

    endpoint = settings.otel_endpoint
    if endpoint and not endpoint.rstrip("/").endswith("/v1/traces"):
        endpoint = endpoint.rstrip("/") + "/v1/traces"
    return OTLPSpanExporter(endpoint=endpoint)  # None: OTEL_EXPORTER_OTLP_* from the environment


def configure_tracing(settings: Settings, *, role: str) -> None:
    """Install the tracer provider for this process (`role`: api or worker); a no-op when disabled."""
    global _provider
    if not settings.otel_enabled or _provider is not None:
        return
    from opentelemetry import trace  # optional: the tracing extra
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor

    provider = TracerProvider(resource=Resource.create({"service.name": f"{settings.otel_service_name}-{role}"}))
    provider.add_span_processor(BatchSpanProcessor(_exporter(settings)))
    trace.set_tracer_provider(provider)
    _provider = provider


def shutdown_tracing() -> None:
    """Export what is buffered and stop the exporter (at process exit)."""
    global _provider
    if _provider is not None:
        _provider.shutdown()
        _provider = None


def _tracer() -> Any:
    from opentelemetry import trace  # optional: the tracing extra

    return trace.get_tracer(TRACER_NAME)


def inject_headers() -> list[tuple[str, bytes]]:
    """Kafka headers carrying the current span's W3C trace context; none when tracing is off."""
    if _provider is None:
        return []
    from opentelemetry import propagate  # optional: the tracing extra

    carrier: dict[str, str] = {}
    propagate.inject(carrier)
    return [(k, v.encode()) for k, v in carrier.items() if k in _TRACE_HEADERS]


def _extract(headers: Iterable[tuple[str, bytes]] | None) -> Any:
    from opentelemetry import propagate  # optional: the tracing extra

    carrier = {k: v.decode("latin-1") for k, v in headers or () if k in _TRACE_HEADERS and v}
    return propagate.extract(carrier)


class JobSpan:
    """The worker's span for one record; `annotate(job)` once the job is known (no-op when off)."""

    def __init__(self, span: Any = None) -> None:
        self._span = span

    def annotate(self, job: Any) -> None:
        if self._span is not None:
            self._span.set_attributes({
                "job.id": str(job.id), "job_type": str(job.job_type), "user_plan": str(job.user_plan),
            })
            self._span.update_name(f"job {job.job_type}")


@contextlib.contextmanager
def job_span(headers: Iterable[tuple[str, bytes]] | None, job: Any = None) -> Iterator[JobSpan]:
    """Around the worker's claim and processing of a record: a consumer span, child of the
    API request's span when the record's headers carry its trace context."""
    if _provider is None:
        yield JobSpan()
        return
    from opentelemetry.trace import SpanKind  # optional: the tracing extra

    with _tracer().start_as_current_span("job", context=_extract(headers), kind=SpanKind.CONSUMER) as span:
        handle = JobSpan(span)
        if job is not None:
            handle.annotate(job)
        yield handle


class TracingMiddleware:
    """Pure ASGI middleware: a server span per HTTP request, continuing an incoming traceparent.

    Installed inside RequestId, so the span carries the request id too."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or _provider is None:
            await self.app(scope, receive, send)
            return
        from opentelemetry.trace import SpanKind, Status, StatusCode  # optional: the tracing extra

        headers = [(k.decode("latin-1"), v) for k, v in scope.get("headers") or []]
        method, path = scope.get("method", "GET"), scope.get("path", "")
        with _tracer().start_as_current_span(f"{method} {path}", context=_extract(headers),
                                             kind=SpanKind.SERVER) as span:
            span.set_attributes({"http.request.method": method, "url.path": path,
                                 "foodai.request_id": request_id_var.get() or ""})

            async def send_with_status(message: Message) -> None:
                if message["type"] == "http.response.start":
                    status = int(message["status"])
                    span.set_attribute("http.response.status_code", status)
                    if status >= 500:
                        span.set_status(Status(StatusCode.ERROR))
                await send(message)

            await self.app(scope, receive, send_with_status)
