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

from app.jobs import Job, JobStore
from app.queue.messages import JobMessage
from app.queue.producer import JobPublisher

log = logging.getLogger(__name__)


@dataclass(slots=True)
class SweepReport:
    failed: int = 0
    requeued: int = 0
    republished: int = 0


async def sweep_once(
    *, jobs: JobStore, publisher: JobPublisher, max_attempts: int, republish_after_s: float
) -> SweepReport:
    """One pass, each step one statement of the store (or one transaction, for the republish), which
    sends the NOTIFY of every status change."""
    report = SweepReport(failed=len(await jobs.fail_exhausted(max_attempts=max_attempts)))
    requeued = await jobs.requeue_expired(max_attempts=max_attempts)
    report.requeued = len(requeued)
    await jobs.mark_published([job.id for job in requeued if await _send(publisher, job)])
    report.republished = await jobs.republish(
        older_than_s=republish_after_s, send=lambda job: _send(publisher, job))
    if report.failed or report.requeued or report.republished:
        log.info("sweep: %s", report)
    return report


async def _send(publisher: JobPublisher, job: Job) -> bool:
    return await publisher.publish(JobMessage(job.id, job.job_type, job.user_plan))
