"""Submission quotas per plan: so many jobs per user per minute and per day, free lower than paid.

The counting is part of the submit's one statement (app.jobs.store.JobStore.submit); this holds the limits."""

from __future__ import annotations

from dataclasses import dataclass

from app.domain import Plan
from app.errors import QuotaExceeded
from app.jobs import OverQuota
from app.settings import Settings


@dataclass(frozen=True, slots=True)
class QuotaPolicy:
    """Limits by plan and window ('minute', 'day')."""

    limits: dict[str, dict[str, int]]

    @classmethod
    def from_settings(cls, settings: Settings) -> QuotaPolicy:
        return cls({
            Plan.FREE: {"minute": settings.quota_free_per_minute, "day": settings.quota_free_per_day},
            Plan.PAID: {"minute": settings.quota_paid_per_minute, "day": settings.quota_paid_per_day},
        })

    def limit(self, plan: str, window: str) -> int:
        """Submissions allowed per `window` on `plan` (an unknown plan has the free plan's)."""
        return self.limits.get(plan, self.limits[Plan.FREE])[window]

    @staticmethod
    def refusal(over: OverQuota) -> QuotaExceeded:
        """The client's error for a full window: which one, its limit, and when to try again."""
        return QuotaExceeded(
            f"the {over.plan} plan allows {over.limit} submissions per {over.window}; "
            f"try again in {over.seconds_left} s",
            retryAfterSeconds=over.seconds_left, limit=over.limit, window=over.window, plan=over.plan,
        )
