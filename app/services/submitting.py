"""The submit mutations' use case: check the request, read and accept its photos, submit the job
with the policies the settings set (quotas, submit hints); storing it is app.services.submit's.

The resolver only translates its arguments into `Photo`s and the job into its GraphQL type.
"""

from __future__ import annotations

import asyncio
import functools
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol, runtime_checkable

from app.auth import Identity
from app.errors import BadUserInput
from app.jobs import Job, JobStore, NewImage
from app.recognition.base import JobType
from app.services import images, submit
from app.services.outbox import OutboxRelay
from app.services.quotas import QuotaPolicy
from app.settings import Settings


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
    submit.check_image_count(len(photos), settings)
    lang = submit.check_lang(lang, settings)
    key = submit.check_idempotency_key(idempotency_key)
    accepted = [await read_photo(photo, i, settings) for i, photo in enumerate(photos)]
    return await submit.submit_job(
        jobs=jobs, outbox=outbox, identity=identity,
        job_type=job_type, lang=lang, images=accepted, idempotency_key=key,
        quota=QuotaPolicy.from_settings(settings),
        announce_to=settings.topics if settings.submit_hints else None,
    )
