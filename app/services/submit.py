"""Submit: validate the photos, store the job (the outbox), publish it, answer at once."""

from __future__ import annotations

import re
from collections.abc import Sequence

from app.auth import Identity
from app.db import SessionFactory
from app.models import ProductRecognitionJob
from app.observability import metrics
from app.queue.messages import JobMessage
from app.recognition.base import JobType
from app.repos import jobs as jobs_repo
from app.repos import users as users_repo
from app.repos.jobs import NewImage
from app.services.errors import BadUserInput
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
    sessions: SessionFactory,
    outbox: OutboxRelay,
    identity: Identity,
    job_type: JobType,
    lang: str,
    images: Sequence[NewImage],
    idempotency_key: str | None,
    quota: QuotaPolicy | None = None,
) -> ProductRecognitionJob:
    """Store a pending job and queue it for Kafka; a retried key returns the first job.

    The job is committed before any Kafka send, and the answer does not wait for the
    send: the outbox relay publishes it, or the worker's sweeper does if that fails
    (the row is the outbox). With `quota`, the submission is counted in the same
    transaction, so a refused one stores nothing.
    """
    async with sessions() as session, session.begin():
        user = await users_repo.upsert_user(session, user_id=identity.user_id, plan=identity.plan)
        if idempotency_key is not None:  # a retry is answered with the first job and costs no quota
            existing = await jobs_repo.get_by_idempotency_key(session, user_id=user.id, key=idempotency_key)
            if existing is not None:
                return existing
        if quota is not None:  # raises QuotaExceeded, rolling back the user row and the count with it
            await quota.consume(session, user_id=user.id, plan=user.plan)
        job = await jobs_repo.insert_job(
            session, user_id=user.id, user_plan=user.plan, job_type=job_type.value, lang=lang,
            images=images, idempotency_key=idempotency_key,
        )
        if job is None:  # the key was used before: answer with that job
            assert idempotency_key is not None
            existing = await jobs_repo.get_by_idempotency_key(session, user_id=user.id, key=idempotency_key)
            assert existing is not None
            return existing
    assert job.id is not None
    outbox.submit(JobMessage(job.id, job.job_type, job.user_plan))
    metrics.job_submitted(job)
    return job
