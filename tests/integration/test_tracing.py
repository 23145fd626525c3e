"""OpenTelemetry tracing: one trace from the API's submitReceipt request through Kafka to the worker's job span."""

from __future__ import annotations

import json
import subprocess
import sys
import uuid
from typing import Any

from tests.stack import Stack, wait_statuses
from tests.support import CLEAN_EXIT, ROOT, SUBMIT_RECEIPT, ChildProcess, b64, new_user, png_bytes


def spans(child: ChildProcess) -> list[dict[str, Any]]:
    """The spans the console exporter printed (one JSON object per line) among the process's log lines."""
    found = []
    for line in child.log().splitlines():
        if line.startswith("{") and '"context"' in line:
            span = json.loads(line)
            if "resource" in span:
                found.append(span)
    return found


async def test_worker_span_continues_the_submit_requests_trace(stack_factory: Any) -> None:
    stack: Stack = stack_factory(otel_enabled=True, otel_exporter="console", otel_service_name="foodai-test")
    db = await stack.db()
    api = await stack.start_api()
    worker = stack.start_worker()
    user = new_user(stack.settings)
    request_id = uuid.uuid4().hex
    body = await api.gql(SUBMIT_RECEIPT, {"images": [{"base64": b64(png_bytes())}]}, user=user,
                         headers={"X-Request-Id": request_id})
    assert "errors" not in body, body
    job_id = body["data"]["submitReceipt"]["id"]
    assert await wait_statuses(db, [job_id], {"done", "failed"}) == {job_id: "done"}
    await api.client.aclose()
    assert worker.stop() in CLEAN_EXIT, worker.log()[-3000:]  # a clean exit flushes the buffered spans
    assert stack.api_child is not None
    assert stack.api_child.stop() in CLEAN_EXIT, stack.api_child.log()[-3000:]

    api_spans, worker_spans = spans(stack.api_child), spans(worker)
    requests = [s for s in api_spans if s["attributes"].get("foodai.request_id") == request_id]
    assert len(requests) == 1, api_spans
    request = requests[0]
    assert request["name"] == "POST /graphql"
    assert request["kind"] == "SpanKind.SERVER"
    assert request["parent_id"] is None
    assert request["attributes"]["http.request.method"] == "POST"
    assert request["attributes"]["http.response.status_code"] == 200
    assert request["resource"]["attributes"]["service.name"] == "foodai-test-api"

    jobs = [s for s in worker_spans if s["attributes"].get("job.id") == job_id]
    assert len(jobs) == 1, worker_spans
    job = jobs[0]
    assert job["name"] == "job receipt"
    assert job["kind"] == "SpanKind.CONSUMER"
    assert job["attributes"]["job_type"] == "receipt"
    assert job["attributes"]["user_plan"] == "free"
    assert job["resource"]["attributes"]["service.name"] == "foodai-test-worker"
    assert job["context"]["trace_id"] == request["context"]["trace_id"]

    # the job span's parent chain, through the API's spans of this trace, reaches the request span
    by_id = {s["context"]["span_id"]: s for s in api_spans + worker_spans
             if s["context"]["trace_id"] == request["context"]["trace_id"]}
    chain, parent = [], job["parent_id"]
    while parent is not None:
        chain.append(parent)
        parent = by_id[parent]["parent_id"] if parent in by_id else None
    assert chain == [request["context"]["span_id"]]


def test_tracing_off_imports_no_opentelemetry() -> None:
    code = (
        "import sys\n"
        "from app.main import create_app\n"
        "from app.queue.messages import JobMessage\n"
        "from app.settings import Settings\n"
        "import app.worker, uuid\n"
        "create_app(Settings(app_env='test'))\n"
        "assert JobMessage(uuid.uuid4(), 'receipt', 'free').headers == ()\n"
        "print(sorted(m for m in sys.modules if m.startswith('opentelemetry')))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=60,
                         check=True)
    assert out.stdout.strip() == "[]", out.stderr
