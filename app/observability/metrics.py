"""Prometheus metrics of the API and the worker (one registry per process, served at /metrics).

Label values are bounded sets (job type, plan, status, error kind, sweeper action,
topic/partition), never ids. Durations are seconds.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator, Mapping
from datetime import datetime
from typing import Any, Protocol

from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.metrics_core import Metric
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from app.jobs.job import Job
from app.settings import Settings

log = logging.getLogger("foodai.jobs")
REGISTRY = CollectorRegistry(auto_describe=True)
_JOB_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 20, 30, 60, 120, 300, 600)

JOBS_SUBMITTED = Counter(
    "foodai_jobs_submitted", "Jobs accepted by the API (idempotent replays not counted).",
    ["type", "plan"], registry=REGISTRY,
)
JOBS_FINISHED = Counter(
    "foodai_jobs_finished", "Jobs a worker brought to a terminal state.", ["type", "plan", "status"], registry=REGISTRY,
)
QUEUE_WAIT = Histogram(
    "foodai_job_queue_wait_seconds", "From submit to a worker's claim.", ["type", "plan"],
    buckets=_JOB_BUCKETS, registry=REGISTRY,
)
PROCESSING = Histogram(
    "foodai_job_processing_seconds", "From a worker's claim to the terminal state.", ["type", "plan", "status"],
    buckets=_JOB_BUCKETS, registry=REGISTRY,
)
IMAGE_DURATION = Histogram(
    "foodai_image_recognition_seconds", "One image through the recognizer, retries included.", ["type", "status"],
    buckets=_JOB_BUCKETS, registry=REGISTRY,
)
RECOGNIZER_ERRORS = Counter(
    "foodai_recognizer_errors", "Failed recognizer calls, by kind (timeout, retryable, permanent).", ["kind"],
    registry=REGISTRY,
)
SUBSCRIPTIONS_OPEN = Gauge(
    "foodai_subscriptions_open", "GraphQL subscriptions currently open on this API process.", registry=REGISTRY,
)
CLAIMS = Counter(
    "foodai_worker_claims", "Jobs a worker claimed, by what announced them: its Kafka record, or its submit's hint.",
    ["via"], registry=REGISTRY,
)
SWEEPER_ACTIONS = Counter(
    "foodai_sweeper_actions", "Jobs the sweeper acted on, by action (failed, requeued, republished).", ["action"],
    registry=REGISTRY,
)


def _seconds(start: datetime | None, end: datetime | None) -> float | None:
    if start is None or end is None:
        return None
    return max(0.0, (end - start).total_seconds())


def job_submitted(job: Job) -> None:
    """Count a newly stored job."""
    JOBS_SUBMITTED.labels(job.job_type, job.user_plan).inc()


def job_claimed(job: Job, *, via: str) -> None:
    """Count the claim by what announced the job ('record' or 'hint'); observe (and log) how long
    the job waited between submit and this claim."""
    CLAIMS.labels(via).inc()
    wait = _seconds(job.created_at, job.started_at)
    if wait is not None:
        QUEUE_WAIT.labels(job.job_type, job.user_plan).observe(wait)
    log.info("job claimed", extra={"queue_wait_s": wait, "via": via})


def job_finished(job: Job) -> None:
    """Count a terminal job, observe its processing time, and log it (one line per job)."""
    status = job.status.value
    JOBS_FINISHED.labels(job.job_type, job.user_plan, status).inc()
    took = _seconds(job.started_at, job.completed_at)
    if took is not None:
        PROCESSING.labels(job.job_type, job.user_plan, status).observe(took)
    log.info("job %s", status, extra={"processing_s": took})


def image_finished(job_type: str, status: str, duration_ms: int) -> None:
    """Observe one image's recognition time."""
    IMAGE_DURATION.labels(job_type, status).observe(duration_ms / 1000)


def recognizer_error(error: BaseException, *, timed_out: bool = False) -> None:
    """Count one failed recognizer call."""
    kind = "timeout" if timed_out else ("retryable" if getattr(error, "retryable", False) else "permanent")
    RECOGNIZER_ERRORS.labels(kind).inc()


def sweep_report(report: object) -> None:
    """Count what one sweeper pass did (a SweepReport: failed, requeued, republished)."""
    for action in ("failed", "requeued", "republished"):
        count = int(getattr(report, action, 0) or 0)
        if count:
            SWEEPER_ACTIONS.labels(action).inc(count)


class _PartitionLike(Protocol):
    topic: str
    partition: int


LagSource = Callable[[], Mapping[Any, int]]


class ConsumerLagCollector:
    """foodai_consumer_lag{topic,partition}: read from the worker's consumer at scrape time."""

    def __init__(self) -> None:
        self.source: LagSource | None = None

    def collect(self) -> Iterator[Metric]:
        family = GaugeMetricFamily(
            "foodai_consumer_lag", "Records behind the high watermark, per assigned partition.",
            labels=["topic", "partition"],
        )
        if self.source is not None:
            for tp, lag in sorted(self.source().items(), key=lambda kv: (kv[0].topic, kv[0].partition)):
                family.add_metric([tp.topic, str(tp.partition)], lag)
        yield family

    def describe(self) -> Iterator[Metric]:
        return iter(())


CONSUMER_LAG = ConsumerLagCollector()
REGISTRY.register(CONSUMER_LAG)


def watch_consumer_lag(source: LagSource | None) -> None:
    """The worker names its consumer's lag function here (None when it stops)."""
    CONSUMER_LAG.source = source


def exposition() -> tuple[bytes, str]:
    """The current metrics in Prometheus text format, and its content type."""
    return generate_latest(REGISTRY), CONTENT_TYPE_LATEST


def metrics_routes(settings: Settings) -> list[BaseRoute]:
    """GET /metrics (Prometheus text format) when METRICS_ENABLED."""
    if not settings.metrics_enabled:
        return []

    async def metrics(_: Request) -> Response:
        body, content_type = exposition()
        return Response(body, media_type=content_type)

    return [Route("/metrics", metrics)]
