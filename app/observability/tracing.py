"""Optional OpenTelemetry tracing (OTEL_ENABLED=true, off by default; needs the `tracing` extra).

When on, the API opens a span per HTTP request, the W3C `traceparent` rides in the Kafka
message headers next to the request id, and the worker continues that trace with a span per
job. The exporter is OTLP over HTTP, configured by the standard OTEL_EXPORTER_OTLP_*
variables. When off (or the packages are missing) every function here is a cheap no-op.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterable, Iterator
from typing import Any

from app.settings import Settings

log = logging.getLogger(__name__)
_enabled = False


def configure_tracing(settings: Settings) -> bool:
    """Install a tracer provider when OTEL_ENABLED; True when tracing is on."""
    global _enabled
    if not settings.otel_enabled:
        return False
    try:
        from opentelemetry import trace
        from opentelemetry.sdk.resources import Resource
        from opentelemetry.sdk.trace import TracerProvider
        from opentelemetry.sdk.trace.export import BatchSpanProcessor
    except ImportError:
        log.warning("OTEL_ENABLED is set but opentelemetry-sdk is not installed (pip install 'foodai[tracing]')")
        return False
    provider = TracerProvider(resource=Resource.create({"service.name": settings.otel_service_name}))
    try:
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

        provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter()))
    except ImportError:
        log.warning("opentelemetry-exporter-otlp-proto-http is missing: spans are created but not exported")
    trace.set_tracer_provider(provider)
    _enabled = True
    return True


def inject_trace() -> list[tuple[str, bytes]]:
    """The current trace context as Kafka headers (empty when tracing is off)."""
    if not _enabled:
        return []
    from opentelemetry import propagate

    carrier: dict[str, str] = {}
    propagate.inject(carrier)
    return [(k, v.encode()) for k, v in carrier.items()]


@contextlib.contextmanager
def span(name: str, *, headers: Iterable[tuple[str, bytes]] | None = None, **attributes: Any) -> Iterator[None]:
    """A span (a child of the trace the headers carry, if any); nothing when tracing is off."""
    if not _enabled:
        yield
        return
    from opentelemetry import propagate, trace

    parent = propagate.extract({k: v.decode("latin-1") for k, v in headers or ()}) if headers is not None else None
    tracer = trace.get_tracer("foodai")
    with tracer.start_as_current_span(name, context=parent, attributes={k: str(v) for k, v in attributes.items()}):
        yield
