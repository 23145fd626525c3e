"""The sweeper: the recovery half of the delivery guarantee, safe to run in many workers at once.

- processing jobs whose lease expired (worker killed) go back to pending, or end FAILED
  when they used their last attempt;
- pending jobs that were never published (Kafka down at submit) or were published
  long ago and never claimed (broker lost its messages) are published again.
Duplicates this may cause are harmless: the claim is a conditional UPDATE.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from sqlmodel.ext.asyncio.session import AsyncSession

from app.db import SessionFactory
from app.queue.messages import JobMessage
from app.queue.producer import JobPublisher
from app.repos import jobs as jobs_repo

log = logging.getLogger(__name__)


@dataclass(slots=True)
class SweepReport:
    failed: int = 0
    requeued: int = 0
    republished: int = 0


async def sweep_once(
    *, sessions: SessionFactory, publisher: JobPublisher, max_attempts: int, republish_after_s: float
) -> SweepReport:
    """One pass; each step in its own transaction, NOTIFY sent for every status change."""
    report = SweepReport()
    async with sessions() as session, session.begin():
        for job in await jobs_repo.fail_exhausted(session, max_attempts=max_attempts):
            await jobs_repo.notify(session, job)
            report.failed += 1
        requeued = await jobs_repo.requeue_expired(session, max_attempts=max_attempts)
        for job in requeued:
            await jobs_repo.notify(session, job)
        report.requeued = len(requeued)
    async with sessions() as session, session.begin():
        await _publish(session, publisher, requeued)
    async with sessions() as session, session.begin():  # rows stay locked until marked
        stale = await jobs_repo.unpublished(session, older_than_s=republish_after_s)
        report.republished = await _publish(session, publisher, stale)
    if report.failed or report.requeued or report.republished:
        log.info("sweep: %s", report)
    return report


async def _publish(session: AsyncSession, publisher: JobPublisher, jobs: list[jobs_repo.Job]) -> int:
    sent = [j.id for j in jobs if j.id and await publisher.publish(JobMessage(j.id, j.job_type, j.user_plan))]
    if sent:
        await jobs_repo.mark_published(session, job_ids=sent)
    return len(sent)
