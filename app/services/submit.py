"""Submit: validate the photos, store the job (the outbox), publish it, answer at once."""

from __future__ import annotations

import re
from collections.abc import Sequence

from app.auth import Identity
from app.errors import BadUserInput
from app.jobs import Job, JobStore, NewImage, OverQuota
from app.observability import metrics
from app.queue.hints import announcement
from app.queue.messages import JobMessage, context_headers
from app.recognition.base import JobType
from app.services.outbox import OutboxRelay
from app.services.quotas import QuotaPolicy
from app.settings import Settings

_LANG = re.compile(r"^[A-Za-z]{2,3}(?:[-_][A-Za-z0-9]{2,8})*$")
_IDEMPOTENCY_KEY = re.compile(r"^[\x21-\x7e]{1,128}$")


def check_lang(lang: str, settings: Settings) -> str:
    """A BCP 47-like language tag, at most MAX_LANG_LENGTH characters, normalised to lower case."""
    if len(lang) > settings.max_lang_length or not _LANG.fullmatch(lang):
        raise BadUserInput("lang must be a language tag such as 'en' or 'de-CH'", field="lang")
    return lang.lower().replace("_", "-")


def check_image_count(count: int, settings: Settings) -> None:
    """Between one and MAX_IMAGES_PER_JOB images."""
    if count == 0:
        raise BadUserInput("at least one image is required", field="images")
    if count > settings.max_images_per_job:
        raise BadUserInput(
            f"at most {settings.max_images_per_job} images per job", field="images",
            max=settings.max_images_per_job,
        )


def check_idempotency_key(key: str | None) -> str | None:
    """1 to 128 printable ASCII characters, or None."""
    if key is not None and not _IDEMPOTENCY_KEY.fullmatch(key):
        raise BadUserInput("idempotencyKey must be 1 to 128 printable ASCII characters", field="idempotencyKey")
    return key


async def submit_job(
    *,
    jobs: JobStore,
    outbox: OutboxRelay,
    identity: Identity,
    job_type: JobType,
    lang: str,
    images: Sequence[NewImage],
    idempotency_key: str | None,
    quota: QuotaPolicy | None = None,
    announce_to: tuple[str, str] | None = None,
) -> Job:
    """Store a pending job and queue it for Kafka; a retried key returns the first job.

    The job is committed before any Kafka send, and the answer does not wait for the
    send: the outbox relay publishes it, or the worker's sweeper does if that fails
    (the row is the outbox). With `quota`, the submission is counted in the same
    statement, so a refused one stores nothing. With `announce_to` (the paid and free
    topics), idle workers of those topics hear of the job at its commit (SUBMIT_HINTS,
    app.queue.hints).
    """
    headers = context_headers()  # the same on the Kafka message and in the announcement
    try:
        stored = await jobs.submit(
            user_id=identity.user_id, plan=identity.plan, job_type=job_type.value, lang=lang, images=images,
            idempotency_key=idempotency_key, limits=None if quota is None else quota.limits,
            announce=None if announce_to is None else announcement(announce_to, headers),
        )
    except OverQuota as over:
        raise QuotaPolicy.refusal(over) from None
    if not stored.existing:  # a retry is answered with the first job as it is now, and not published again
        outbox.submit(JobMessage(stored.job.id, stored.job.job_type, stored.job.user_plan, headers=headers))
        metrics.job_submitted(stored.job)
    return stored.job
