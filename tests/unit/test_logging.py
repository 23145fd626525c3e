"""Structured logs: JSON lines carrying request, user and job ids; ids ride Kafka headers to the worker."""

from __future__ import annotations

import io
import json
import logging
import uuid
from collections.abc import Iterator

import pytest
import structlog

from app.observability.logs import bind_ids, bind_record, configure_logging, ids_from_headers, request_id_var
from app.queue.messages import JobMessage
from app.settings import Settings


@pytest.fixture
def json_logs() -> Iterator[io.StringIO]:
    stream = io.StringIO()
    root = logging.getLogger()
    saved = (list(root.handlers), root.level)
    configure_logging(Settings(app_env="production", jwt_secret="x" * 40, recognizer_receipt="local",
                               recognizer_products="local", log_format="auto"), stream=stream)
    structlog.contextvars.clear_contextvars()
    try:
        yield stream
    finally:
        structlog.contextvars.clear_contextvars()
        root.handlers[:] = saved[0]
        root.setLevel(saved[1])


def _lines(stream: io.StringIO) -> list[dict[str, object]]:
    return [json.loads(line) for line in stream.getvalue().splitlines()]


def test_production_logs_are_json_with_the_request_id_of_the_middleware(json_logs: io.StringIO) -> None:
    token = request_id_var.set("req-1")
    try:
        logging.getLogger("foodai.test").info("submitted %d images", 2, extra={"job_type": "receipt"})
    finally:
        request_id_var.reset(token)
    [line] = _lines(json_logs)
    assert {k: line[k] for k in ("event", "level", "logger", "request_id", "job_type")} == {
        "event": "submitted 2 images", "level": "info", "logger": "foodai.test", "request_id": "req-1",
        "job_type": "receipt",
    }
    assert str(line["timestamp"]).endswith("Z")


def test_bound_ids_appear_on_every_line_until_unbound(json_logs: io.StringIO) -> None:
    job_id, user_id = uuid.uuid4(), uuid.uuid4()
    bind_ids(job_id=job_id, user_id=user_id)
    logging.getLogger("foodai.worker").info("one")
    bind_ids(job_id=None)
    logging.getLogger("foodai.worker").warning("two")
    one, two = _lines(json_logs)
    assert (one["job_id"], one["user_id"]) == (str(job_id), str(user_id))
    assert "job_id" not in two and two["user_id"] == str(user_id) and two["level"] == "warning"


def test_exceptions_are_structured_in_json(json_logs: io.StringIO) -> None:
    try:
        raise ValueError("boom")
    except ValueError:
        logging.getLogger("foodai.test").exception("failed")
    [line] = _lines(json_logs)
    assert line["event"] == "failed"
    assert line["exception"][0]["exc_type"] == "ValueError"  # type: ignore[index]
    assert line["exception"][0]["exc_value"] == "boom"  # type: ignore[index]


def test_a_job_message_carries_the_request_id_as_a_kafka_header() -> None:
    token = request_id_var.set("req-42")
    try:
        message = JobMessage(uuid.uuid4(), "receipt", "free")
    finally:
        request_id_var.reset(token)
    assert ("request_id", b"req-42") in message.headers
    assert message == JobMessage(message.job_id, "receipt", "free")  # headers are not part of equality
    assert JobMessage.decode(message.encode()) == message


def test_the_worker_binds_the_ids_a_record_carries_and_forgets_the_previous_ones(json_logs: io.StringIO) -> None:
    bind_record([("request_id", b"req-a"), ("user_id", b"u-1")], job_id="j-1")
    logging.getLogger("foodai.worker").info("first")
    bind_record(None)
    logging.getLogger("foodai.worker").info("second")
    first, second = _lines(json_logs)
    assert (first["request_id"], first["user_id"], first["job_id"]) == ("req-a", "u-1", "j-1")
    assert not {"request_id", "user_id", "job_id"} & set(second)


def test_header_ids_ignore_unknown_keys_and_unprintable_values() -> None:
    assert ids_from_headers([("request_id", b"abc"), ("other", b"x"), ("user_id", b"\x00\x01")]) == {
        "request_id": "abc"
    }
    assert ids_from_headers(None) == {}
