"""Submit: check the request, accept its photos, store the job (the outbox), publish it, answer at once.

`submit_photos` is the submit mutations' use case, with the policies the settings set (quotas,
submit hints); the resolver only translates its arguments into `Photo`s and the job into its
GraphQL type. `submit_job` stores and publishes an accepted job.
"""

from __future__ import annotations

import asyncio
import functools
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol, runtime_checkable

from app.auth import Identity
from app.domain import JobType
from app.errors import BadUserInput
from app.jobs import Job, JobStore, NewImage, OverQuota
from app.observability import metrics
from app.queue.hints import announcement
from app.queue.messages import JobMessage, context_headers
from app.services import images
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


@runtime_checkable
class FilePart(Protocol):
    """A multipart file part (starlette's UploadFile)."""

    async def read(self, size: int = -1) -> bytes: ...


@dataclass(frozen=True, slots=True)
class Photo:
    """One image of the request as the client sent it: base64 text, or a multipart upload.

    `upload` is whatever the client put in the upload's place (a form field that is not a
    file part is refused)."""

    base64: str | None = None
    upload: object = None


async def read_photo(photo: Photo, index: int, settings: Settings) -> NewImage:
    """The photo's bytes, accepted as an image (type, size, pixels, structure); BadUserInput if not."""
    limit = settings.max_image_bytes
    if photo.base64:
        data = images.decode_base64(photo.base64, index=index, max_bytes=limit)
    elif isinstance(photo.upload, FilePart):
        data = await photo.upload.read(limit + 1)
    elif photo.upload:
        raise BadUserInput(f"image {index} is not a multipart file upload", field=f"images.{index}")
    else:
        raise BadUserInput(f"image {index} needs base64 or upload", field=f"images.{index}")
    check = functools.partial(images.accept_image, data, index=index, max_bytes=limit,
                              max_pixels=settings.max_image_pixels)
    # Pillow's PNG and WebP structure checks take milliseconds: off the event loop. The JPEG
    # marker walk (0.25 ms for 200 KB) costs less than the hop to a thread and back.
    return check() if images.sniff_mime(data) == "image/jpeg" else await asyncio.to_thread(check)


async def submit_photos(
    *,
    jobs: JobStore,
    outbox: OutboxRelay,
    settings: Settings,
    identity: Identity,
    job_type: JobType,
    photos: Sequence[Photo],
    lang: str,
    idempotency_key: str | None,
) -> Job:
    """A pending job of the caller's photos (or the first job of a retried key), under the quotas of
    the settings and announced to idle workers when SUBMIT_HINTS is on; BadUserInput or
    QuotaExceeded when refused, before anything is stored."""
    check_image_count(len(photos), settings)
    lang = check_lang(lang, settings)
    key = check_idempotency_key(idempotency_key)
    accepted = [await read_photo(photo, i, settings) for i, photo in enumerate(photos)]
    return await submit_job(
        jobs=jobs, outbox=outbox, identity=identity,
        job_type=job_type, lang=lang, images=accepted, idempotency_key=key,
        quota=QuotaPolicy.from_settings(settings),
        announce_to=settings.topics if settings.submit_hints else None,
    )
