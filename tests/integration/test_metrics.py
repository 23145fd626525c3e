"""The operator's view: /metrics on API and worker, the worker's health endpoints, and ids in the logs."""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from app.embedded import free_port
from app.settings import Settings
from tests.conftest import make_settings
from tests.support import (
    SUBMIT_RECEIPT,
    WATCH_JOB,
    Api,
    ChildProcess,
    User,
    b64,
    new_user,
    png_bytes,
    scripted_image,
    serving,
    wait_ready,
)


@dataclass
class Stack:
    api: Api
    worker_url: str
    settings: Settings
    api_child: ChildProcess
    worker_child: ChildProcess
    gates: Path


@pytest.fixture(scope="module")
async def stack(database_url: str, kafka_bootstrap: str, tmp_path_factory: pytest.TempPathFactory
                ) -> AsyncIterator[Stack]:
    """An API and a worker of their own (own topics, so counts start at zero), JSON logs, worker metrics on."""
    logs = tmp_path_factory.mktemp("metrics")
    settings = make_settings(database_url, kafka_bootstrap, log_format="json", worker_metrics_port=free_port())
    worker_url = f"http://127.0.0.1:{settings.worker_metrics_port}"
    async with serving(settings, logs, "metrics-api", worker=True) as served:
        assert served.worker_child is not None
        await wait_ready(served.worker_child, worker_url)
        yield Stack(served.api, worker_url, settings, served.api_child, served.worker_child, logs)


async def scrape(url: str) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
    """Every sample of a /metrics page, keyed by name and labels."""
    async with httpx.AsyncClient(timeout=5) as client:
        response = await client.get(url + "/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain; version=")
    return {
        (s.name, frozenset(s.labels.items())): s.value
        for family in text_string_to_metric_families(response.text) for s in family.samples
    }


def value(samples: dict[tuple[str, frozenset[tuple[str, str]]], float], name: str, **labels: str) -> float | None:
    return samples.get((name, frozenset(labels.items())))


async def eventually(check: Callable[[], Awaitable[bool]], deadline_s: float = 20) -> None:
    """Wait until `check()` is true (a metric is updated just after the commit the test saw)."""
    async with asyncio.timeout(deadline_s):
        while not await check():
            await asyncio.sleep(0.05)


async def run_job(stack: Stack, user: User, images: list[bytes], request_id: str) -> list[dict[str, Any]]:
    """Submit, then watch to the end; checks the open-subscriptions gauge while the job is held at a gate."""
    gate = stack.gates / uuid.uuid4().hex
    gated = [image + f"FOODAI-GATE:{gate}\n".encode() for image in images]
    body = await stack.api.gql(SUBMIT_RECEIPT, {"images": [{"base64": b64(i)} for i in gated]}, user=user,
                               headers={"X-Request-Id": request_id})
    assert "errors" not in body, body
    job_id = body["data"]["submitReceipt"]["id"]
    async with stack.api.ws(user=user) as ws:
        assert (await ws.recv())["type"] == "connection_ack"
        op = await ws.subscribe(WATCH_JOB, {"id": job_id})
        first = await ws.recv()
        assert first["payload"]["data"]["productJob"]["id"] == job_id
        assert value(await scrape(stack.api.base_url), "foodai_subscriptions_open") == 1.0
        gate.touch()
        events = [first["payload"]["data"]["productJob"]]
        events += [p["data"]["productJob"] for p in await ws.collect(op)]

    async def closed() -> bool:
        return value(await scrape(stack.api.base_url), "foodai_subscriptions_open") == 0.0

    await eventually(closed)
    return events


async def test_a_job_is_counted_on_the_api_and_timed_on_the_worker(stack: Stack) -> None:
    user = new_user(stack.settings, plan="paid")
    images = [scripted_image("MILK 1L*1*l*1.19"), scripted_image("BREAD*1*pcs*2.10")]
    events = await run_job(stack, user, images, f"req-{uuid.uuid4().hex}")
    assert events[-1]["status"] == "DONE"

    api = await scrape(stack.api.base_url)
    assert value(api, "foodai_jobs_submitted_total", type="receipt", plan="paid") == 1.0

    done = {"type": "receipt", "plan": "paid", "status": "done"}

    async def finished() -> bool:
        return value(await scrape(stack.worker_url), "foodai_jobs_finished_total", **done) == 1.0

    await eventually(finished)
    worker = await scrape(stack.worker_url)
    assert value(worker, "foodai_job_queue_wait_seconds_count", type="receipt", plan="paid") == 1.0
    assert value(worker, "foodai_job_processing_seconds_count", **done) == 1.0
    assert value(worker, "foodai_image_recognition_seconds_count", type="receipt", status="done") == 2.0
    assert value(worker, "foodai_recognizer_errors_total", kind="permanent") is None

    async def caught_up() -> bool:
        lags = {dict(k[1])["topic"]: v for k, v in (await scrape(stack.worker_url)).items()
                if k[0] == "foodai_consumer_lag"}
        return stack.settings.kafka_topic_paid in lags and set(lags.values()) == {0.0}

    await eventually(caught_up)


async def test_recognizer_errors_and_failed_jobs_are_counted_by_kind(stack: Stack) -> None:
    user = new_user(stack.settings)
    events = await run_job(stack, user, [png_bytes("FOODAI-FAIL")], f"req-{uuid.uuid4().hex}")
    assert events[-1]["status"] == "FAILED"

    async def counted() -> bool:
        samples = await scrape(stack.worker_url)
        return value(samples, "foodai_jobs_finished_total", type="receipt", plan="free", status="failed") == 1.0

    await eventually(counted)
    worker = await scrape(stack.worker_url)
    assert value(worker, "foodai_recognizer_errors_total", kind="permanent") == 1.0
    assert value(worker, "foodai_image_recognition_seconds_count", type="receipt", status="failed") == 1.0


async def test_worker_health_endpoints(stack: Stack) -> None:
    async with httpx.AsyncClient(timeout=5) as client:
        health = await client.get(stack.worker_url + "/healthz")
        ready = await client.get(stack.worker_url + "/readyz")
        missing = await client.get(stack.worker_url + "/nope")
    assert (health.status_code, health.json()) == (200, {"status": "ok"})
    assert ready.status_code == 200 and ready.json()["ready"] is True
    assert missing.status_code == 404


def _json_lines(child: ChildProcess) -> list[dict[str, Any]]:
    lines = []
    for line in child.log().splitlines():
        if line.startswith("{"):
            lines.append(json.loads(line))
    return lines


async def test_the_request_id_follows_the_job_from_the_api_through_kafka_to_the_worker(stack: Stack) -> None:
    user = new_user(stack.settings)
    request_id = f"req-{uuid.uuid4().hex}"
    events = await run_job(stack, user, [scripted_image("EGGS 10*10*pcs*2.99")], request_id)
    job_id = events[-1]["id"]

    async def logged() -> bool:
        return any(e.get("event") == "job done" and e.get("job_id") == job_id for e in _json_lines(stack.worker_child))

    await eventually(logged)
    worker_lines = [e for e in _json_lines(stack.worker_child) if e.get("job_id") == job_id]
    assert {(e["event"], e["request_id"], e["user_id"]) for e in worker_lines} == {
        ("job claimed", request_id, str(user.id)), ("job done", request_id, str(user.id)),
    }
    api_lines = [e for e in _json_lines(stack.api_child) if e.get("request_id") == request_id]
    assert any(e["logger"] == "uvicorn.access" and "POST /graphql" in e["event"] for e in api_lines), api_lines

