"""Structured logs: JSON in production, readable in development, with request, user and job ids.

`configure_logging(settings)` routes the standard library's logging (ours, uvicorn's,
aiokafka's) through structlog's formatter, so every line, whoever wrote it, carries the
ids bound for the current task: `request_id` (the API's RequestId middleware, and the
worker from the Kafka record's headers), `user_id` and `job_id` (bound where they are
known). asyncio tasks copy the context when they are created, so ids bound before a
job's task starts follow it, and ids bound inside a task stay there.

`request_id_var` holds the API request's id (set by app.main's RequestId middleware); the
log lines, the tracing middleware and the GraphQL errors (app.schema.errors) read it here.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Iterable, Mapping, MutableMapping
from contextvars import ContextVar
from typing import Any

import structlog
import structlog.tracebacks
from structlog.typing import EventDict, Processor

from app.settings import AppEnv, Settings

_IDS = ("request_id", "user_id", "job_id")
request_id_var: ContextVar[str | None] = ContextVar("request_id", default=None)


def _add_request_id(_logger: Any, _name: str, event: EventDict) -> EventDict:
    """The API's request id (set by the RequestId middleware) when nothing bound one."""
    if "request_id" not in event:
        request_id = request_id_var.get()
        if request_id:
            event["request_id"] = request_id
    return event


def _renderer(settings: Settings) -> Processor:
    fmt = settings.log_format
    if fmt == "auto":
        fmt = "json" if settings.app_env is AppEnv.PRODUCTION else "console"
    if fmt == "json":
        return structlog.processors.JSONRenderer()
    # plain tracebacks: rich's formatter shows local variables, which can hold tokens and image bytes
    return structlog.dev.ConsoleRenderer(colors=sys.stderr.isatty(), sort_keys=False,
                                         exception_formatter=structlog.dev.plain_traceback)


def configure_logging(settings: Settings, *, stream: Any = None) -> None:
    """Install the structlog formatter on the root logger (idempotent: replaces earlier handlers)."""
    shared: list[Processor] = [
        structlog.contextvars.merge_contextvars,
        _add_request_id,
        structlog.stdlib.add_log_level,
        structlog.stdlib.add_logger_name,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
    ]
    structlog.configure(
        processors=[*shared, structlog.stdlib.PositionalArgumentsFormatter(),
                    structlog.stdlib.ProcessorFormatter.wrap_for_formatter],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger,
        cache_logger_on_first_use=True,
    )
    final: list[Processor] = [structlog.stdlib.ProcessorFormatter.remove_processors_meta]
    if settings.log_format == "json" or (settings.log_format == "auto" and settings.app_env is AppEnv.PRODUCTION):
        # structured tracebacks without local variables (they can hold tokens and image bytes)
        final.append(structlog.processors.ExceptionRenderer(
            structlog.tracebacks.ExceptionDictTransformer(show_locals=False)))
    final.append(_renderer(settings))
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.setFormatter(structlog.stdlib.ProcessorFormatter(
        foreign_pre_chain=[*shared, structlog.stdlib.ExtraAdder()], processors=final))
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(settings.log_level)
    for noisy in ("aiokafka", "kafka"):
        logging.getLogger(noisy).setLevel(max(logging.WARNING, root.level))


def bind_ids(**ids: object) -> None:
    """Bind ids (request_id, user_id, job_id) for this task and the tasks it creates; None unbinds."""
    unset = [k for k, v in ids.items() if v is None]
    if unset:
        structlog.contextvars.unbind_contextvars(*unset)
    structlog.contextvars.bind_contextvars(**{k: str(v) for k, v in ids.items() if v is not None})


def current_ids() -> dict[str, str]:
    """The ids bound now (request id from the middleware included)."""
    bound = structlog.contextvars.get_contextvars()
    ids = {k: str(bound[k]) for k in _IDS if bound.get(k) is not None}
    if "request_id" not in ids:
        request_id = request_id_var.get()
        if request_id:
            ids["request_id"] = request_id
    return ids


def message_headers() -> list[tuple[str, bytes]]:
    """Kafka headers carrying this task's request and user ids."""
    return [(k, v.encode()) for k, v in current_ids().items() if k in ("request_id", "user_id")]


def ids_from_headers(headers: Iterable[tuple[str, bytes]] | None) -> dict[str, str]:
    """The request and user ids a Kafka record carries (unknown keys and bad bytes are ignored)."""
    found: MutableMapping[str, str] = {}
    for key, value in headers or ():
        if key in ("request_id", "user_id") and value:
            text = value.decode("utf-8", "replace")[:64]
            if text.isprintable():
                found[key] = text
    return dict(found)


def bind_record(headers: Iterable[tuple[str, bytes]] | None, *, job_id: object = None) -> Mapping[str, str]:
    """In the worker: forget the previous record's ids, bind this one's; return them."""
    ids = ids_from_headers(headers)
    bind_ids(request_id=ids.get("request_id"), user_id=ids.get("user_id"), job_id=job_id)
    return ids
