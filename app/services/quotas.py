"""Submission quotas per plan: so many jobs per user per minute and per day, free lower than paid."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from sqlmodel.ext.asyncio.session import AsyncSession

from app.repos import quotas as quotas_repo
from app.services.errors import QuotaExceeded
from app.settings import Settings


@dataclass(frozen=True, slots=True)
class QuotaPolicy:
    """Limits by plan and window ('minute', 'day')."""

    limits: dict[str, dict[str, int]]

    @classmethod
    def from_settings(cls, settings: Settings) -> QuotaPolicy:
        return cls({
            "free": {"minute": settings.quota_free_per_minute, "day": settings.quota_free_per_day},
            "paid": {"minute": settings.quota_paid_per_minute, "day": settings.quota_paid_per_day},
        })

    async def consume(self, session: AsyncSession, *, user_id: uuid.UUID, plan: str) -> None:
        """Count one submission in the caller's transaction; QuotaExceeded (roll back!) when over a limit."""
        limits = self.limits[plan]
        counts = await quotas_repo.count_submission(session, user_id=user_id)
        over = [c for c in counts if c.count > limits[c.window]]
        if over:
            worst = max(over, key=lambda c: c.seconds_left)
            raise QuotaExceeded(
                f"the {plan} plan allows {limits[worst.window]} submissions per {worst.window}; "
                f"try again in {worst.seconds_left} s",
                retryAfterSeconds=worst.seconds_left, limit=limits[worst.window], window=worst.window, plan=plan,
            )
