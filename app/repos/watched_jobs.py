"""Jobs read by id in batches, for the subscriptions that watch them (app.services.watch).

Unscoped on purpose: one statement serves the watchers of many users, and the caller
checks each job's owner before showing it.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from app.models import ProductRecognitionJob as Job


async def get_jobs_by_id(session: AsyncSession, *, job_ids: Sequence[uuid.UUID]) -> list[Job]:
    """The jobs among `job_ids` that exist (any owner), freshly read. Never loads image bytes."""
    stmt = select(Job).where(col(Job.id).in_(job_ids)).execution_options(populate_existing=True)
    return list(await session.exec(stmt))
