"""Recognition jobs: the row type every layer reads (job.py), the store that owns every state change
and read of a job (store.py), and its statements, NOTIFY included (queries.py).

A job's path, each step a method of JobStore: submit (API) -> claim, record_progress, finish or
release, extend_leases (worker) -> fail_exhausted, requeue_expired, republish (sweeper) and
mark_published (outbox) -> get_job, history_page, get_jobs_by_id (queries and watchers) ->
set_confirmed (confirm).
"""

from app.jobs.job import Job, NewImage, OverQuota, StoredImage, Submission
from app.jobs.store import ClaimedJob, JobStore

__all__ = ["ClaimedJob", "Job", "JobStore", "NewImage", "OverQuota", "StoredImage", "Submission"]
