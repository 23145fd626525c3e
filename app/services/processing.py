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
from dataclasses import dataclass, field, fields
from typing import Any

from app.domain import ImageResult, ImageStatus, JobResult, JobStatus, JobType, ReceiptFields, ResultItem
from app.jobs import ClaimedJob, Job, JobStore, StoredImage
from app.observability import metrics
from app.recognition.base import (
    ImageRecognition,
    JobImage,
    ReceiptHeader,
    RecognitionError,
    Recognizer,
)
from app.recognition.enrich import Enricher

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


@dataclass(frozen=True, slots=True)
class ImageRead:
    """One image of a job through its recognizer: the stored outcome, and what was read (None on failure)."""

    result: ImageResult
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
    recognizer: Recognizer, image: JobImage, *, job_type: JobType, lang: str, retry: RetryPolicy
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


async def _recognize_one(deps: ProcessingDeps, job: Job, stored: StoredImage, progress: _Progress) -> ImageRead:
    job_type = JobType(job.job_type)
    image = JobImage(index=stored.index, data=stored.data, mime=stored.mime)
    started = time.perf_counter()
    try:
        recognition = await recognize_with_retry(
            deps.recognizers[job_type], image, job_type=job_type, lang=job.lang, retry=deps.retry
        )
    except RecognitionError as exc:
        read = ImageRead(ImageResult(stored.index, ImageStatus.FAILED, error=str(exc), duration_ms=_ms(started)))
    else:
        read = ImageRead(ImageResult(stored.index, ImageStatus.DONE, len(recognition.items), _ms(started),
                                     note=recognition.note), recognition)
    metrics.image_finished(job.job_type, read.result.status.value, read.result.duration_ms)
    await progress.image_finished()
    return read


def _ms(started: float) -> int:
    return round((time.perf_counter() - started) * 1000)


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


def receipt_fields(header: ReceiptHeader, items: list[ResultItem]) -> ReceiptFields:
    """The merged header as stored, with whether the items' prices add up to its total (1 cent per item)."""
    priced = [i.price for i in items if i.price is not None]
    return ReceiptFields(
        merchant=header.merchant, purchased_at=header.purchased_at, currency=header.currency,
        total=header.total, subtotal=header.subtotal, tax=header.tax, address=header.address,
        total_matches=(header.total is not None and bool(priced)
                       and abs(sum(priced) - header.total) <= 0.01 * max(1, len(priced))),
    )


def build_result(reads: list[ImageRead], items: list[ResultItem]) -> JobResult:
    """The result document (app.domain.JobResult; app.schema.mapping turns it into GraphQL types)."""
    header = merge_header([r.recognition for r in reads if r.recognition is not None])
    return JobResult(
        items=tuple(items),
        images=tuple(r.result for r in reads),
        receipt=None if header is None else receipt_fields(header, items),
    )


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
    reads = [t.result() for t in tasks]
    raw = [(r.result.index, item) for r in reads if r.recognition for item in r.recognition.items]
    items = deps.enricher.enrich(raw, lang=job.lang, aliases=claimed.aliases)
    ok = [r for r in reads if r.result.status is ImageStatus.DONE]
    status = JobStatus.DONE if ok else JobStatus.FAILED
    error = None if ok else "no image could be recognized: " + "; ".join(
        f"image {r.result.index}: {r.result.error}" for r in reads
    )
    result = build_result(reads, items).to_json()
    return await finish(deps, job.id, status, result, error, images_done=len(stored))


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
