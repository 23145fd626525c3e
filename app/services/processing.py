"""Processing one claimed job: recognize every image in parallel, enrich, store, notify.

The worker claims a job (pending -> processing) before calling this; everything here
writes through guarded updates that check this worker still holds the lease, so a
job reclaimed by another worker after a lost lease is never finished twice.
"""

from __future__ import annotations

import asyncio
import logging
import math
import time
import uuid
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field, fields
from typing import Any

from app.jobs import ClaimedJob, Job, JobStore, StoredImage
from app.models import JobStatus
from app.observability import metrics
from app.recognition.base import (
    ImageInput,
    ImageRecognition,
    JobType,
    ReceiptHeader,
    RecognitionError,
    Recognizer,
)
from app.recognition.enrich import Enricher, PantryItem

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """Bounded retries with exponential backoff for one recognizer call."""

    attempts: int = 3
    base_delay_s: float = 0.2
    max_delay_s: float = 5.0
    timeout_s: float = 90.0

    def delay(self, attempt: int) -> float:
        return min(self.max_delay_s, self.base_delay_s * 2.0 ** (attempt - 1))


@dataclass(slots=True)
class ImageOutcome:
    index: int
    status: str  # done | failed
    item_count: int = 0
    duration_ms: int = 0
    error: str | None = None
    note: str | None = None
    recognition: ImageRecognition | None = field(default=None, repr=False)


@dataclass(frozen=True, slots=True)
class ProcessingDeps:
    jobs: JobStore
    recognizers: Mapping[JobType, Recognizer]
    enricher: Enricher
    retry: RetryPolicy
    worker_id: str


class LeaseLost(Exception):
    """Another worker owns the job now; stop without writing."""


def check_recognition(result: object) -> ImageRecognition:
    """A recognizer's answer, refused (as a retryable failure) when it is not a sane result."""
    if not isinstance(result, ImageRecognition):
        raise RecognitionError(f"the recognizer returned {type(result).__name__}, not a result", retryable=True)
    for item in result.items:
        numbers = [item.confidence, *(v for v in (item.quantity, item.price, item.unit_price) if v is not None)]
        if (
            not isinstance(item.raw_text, str) or not item.raw_text.strip()
            or not all(isinstance(n, int | float) and math.isfinite(n) for n in numbers)
            or not 0.0 <= item.confidence <= 1.0
            or (item.quantity is not None and item.quantity <= 0)
        ):
            raise RecognitionError(f"the recognizer returned an invalid item: {item.raw_text!r:.80}", retryable=True)
    return result


async def recognize_with_retry(
    recognizer: Recognizer, image: ImageInput, *, job_type: JobType, lang: str, retry: RetryPolicy
) -> ImageRecognition:
    """One image through the recognizer: per-call timeout, retries on retryable failures only."""
    for attempt in range(1, retry.attempts + 1):
        try:
            async with asyncio.timeout(retry.timeout_s):
                return check_recognition(await recognizer.recognize(image, job_type=job_type, lang=lang))
        except TimeoutError:
            error = RecognitionError(f"the recognizer timed out after {retry.timeout_s:g} s", retryable=True)
            metrics.recognizer_error(error, timed_out=True)
        except RecognitionError as exc:
            error = exc
            metrics.recognizer_error(error)
        if not error.retryable or attempt == retry.attempts:
            raise error
        await asyncio.sleep(retry.delay(attempt))
    raise AssertionError("unreachable")


async def _recognize_one(deps: ProcessingDeps, job: Job, stored: StoredImage, progress: _Progress) -> ImageOutcome:
    job_type = JobType(job.job_type)
    image = ImageInput(index=stored.index, data=stored.data, mime=stored.mime)
    started = time.perf_counter()
    try:
        recognition = await recognize_with_retry(
            deps.recognizers[job_type], image, job_type=job_type, lang=job.lang, retry=deps.retry
        )
        outcome = ImageOutcome(stored.index, "done", len(recognition.items), note=recognition.note,
                               recognition=recognition)
    except RecognitionError as exc:
        outcome = ImageOutcome(stored.index, "failed", error=str(exc))
    outcome.duration_ms = round((time.perf_counter() - started) * 1000)
    metrics.image_finished(job.job_type, outcome.status, outcome.duration_ms)
    await progress.image_finished()
    return outcome


class _Progress:
    """Stores and announces `images_done` as each image but the last finishes.

    The last image's progress is written by `finish`, together with the terminal status,
    so a watcher sees one final event rather than "n of n" and then DONE.
    """

    def __init__(self, deps: ProcessingDeps, job_id: uuid.UUID, total: int) -> None:
        self._deps, self._job_id, self._total, self._done = deps, job_id, total, 0
        self._lock = asyncio.Lock()

    async def image_finished(self) -> None:
        async with self._lock:  # one writer at a time keeps the counter monotonic
            self._done += 1
            if self._done >= self._total:
                return
            job = await self._deps.jobs.record_progress(
                job_id=self._job_id, worker_id=self._deps.worker_id, images_done=self._done
            )
            if job is None:
                raise LeaseLost(str(self._job_id))


def merge_header(recognitions: list[ImageRecognition]) -> ReceiptHeader | None:
    """The first value each header field was read with, across the job's images."""
    headers = [r.header for r in recognitions if r.header is not None]
    if not headers:
        return None
    merged = ReceiptHeader()
    for name in (f.name for f in fields(ReceiptHeader)):
        setattr(merged, name, next((getattr(h, name) for h in headers if getattr(h, name) is not None), None))
    return merged


def build_result(outcomes: list[ImageOutcome], items: list[PantryItem]) -> dict[str, Any]:
    """The stored result document (snake_case; app.schema.mapping turns it into GraphQL types)."""
    recognitions = [o.recognition for o in outcomes if o.recognition is not None]
    header = merge_header(recognitions)
    receipt: dict[str, Any] | None = None
    if header is not None:
        receipt = asdict(header)
        priced = [i.price for i in items if i.price is not None]
        receipt["total_matches"] = (
            header.total is not None and bool(priced)
            and abs(sum(priced) - header.total) <= 0.01 * max(1, len(priced))
        )
    return {
        "items": [asdict(i) for i in items],
        "images": [
            {k: v for k, v in asdict(o).items() if k != "recognition"} for o in outcomes
        ],
        "receipt": receipt,
    }


async def process_job(deps: ProcessingDeps, claimed: ClaimedJob) -> Job | None:
    """Run a claimed job to DONE or FAILED; None when the lease was lost to another worker."""
    job, stored = claimed.job, claimed.images
    progress = _Progress(deps, job.id, len(stored))
    lost = False
    try:
        async with asyncio.TaskGroup() as group:  # a lost lease cancels the job's other images
            tasks = [group.create_task(_recognize_one(deps, job, s, progress)) for s in stored]
    except* LeaseLost:
        lost = True
    if lost:
        log.warning("job %s: lease lost while processing; leaving it to its new owner", job.id)
        return None
    outcomes = [t.result() for t in tasks]
    raw = [(o.index, item) for o in outcomes if o.recognition for item in o.recognition.items]
    items = deps.enricher.enrich(raw, lang=job.lang, aliases=claimed.aliases)
    ok = [o for o in outcomes if o.status == "done"]
    status = JobStatus.DONE if ok else JobStatus.FAILED
    error = None if ok else "no image could be recognized: " + "; ".join(
        f"image {o.index}: {o.error}" for o in outcomes
    )
    return await finish(deps, job.id, status, build_result(outcomes, items), error, images_done=len(stored))


async def finish(
    deps: ProcessingDeps,
    job_id: uuid.UUID,
    status: JobStatus,
    result: dict[str, Any] | None,
    error: str | None,
    *,
    images_done: int,
) -> Job | None:
    """Store the terminal state and NOTIFY in one statement; None when the lease was lost."""
    done = await deps.jobs.finish(
        job_id=job_id, worker_id=deps.worker_id, status=status, result=result, error=error, images_done=images_done
    )
    if done is not None:
        metrics.job_finished(done)
    return done
