"""Admission of an upload before its body is read: the caller's quota, judged from the headers alone."""

from __future__ import annotations

import asyncpg

from app.auth import Identity
from app.jobs import OverQuota
from app.repos.quota_windows import current_windows
from app.services.quotas import QuotaPolicy


async def check_quota_before_upload(pool: asyncpg.Pool, identity: Identity, quota: QuotaPolicy) -> None:
    """QuotaExceeded (as the submit itself would answer) when a window of the caller's is already full.

    Nothing is counted: the submit counts in its own statement. A retry of an idempotency
    key already used is refused here too while the window is full (the key is in the body).
    """
    windows = await current_windows(pool, user_id=identity.user_id, plan=identity.plan)
    full = [w for w in windows if w.count >= quota.limit(w.plan, w.kind)]
    if full:
        worst = max(full, key=lambda w: w.seconds_left)
        raise QuotaPolicy.refusal(OverQuota(worst.kind, quota.limit(worst.plan, worst.kind), worst.seconds_left,
                                            worst.plan))
