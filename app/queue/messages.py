"""The job message on Kafka: ids only, never image bytes."""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass, field

from app.domain import JobType, Plan
from app.observability.logs import message_headers
from app.observability.tracing import inject_headers


def context_headers() -> tuple[tuple[str, bytes], ...]:
    """The current task's request and user ids, and its trace context when tracing is on."""
    return (*message_headers(), *inject_headers())


class PoisonMessage(ValueError):
    """A message that can never be processed (not JSON, missing fields, unknown values)."""


@dataclass(frozen=True, slots=True)
class JobMessage:
    job_id: uuid.UUID
    job_type: str
    user_plan: str
    # Kafka headers: the request and user ids of the task that built the message, for the worker's logs,
    # and its W3C trace context when tracing is on
    headers: tuple[tuple[str, bytes], ...] = field(default_factory=context_headers, compare=False, repr=False)

    @property
    def known(self) -> bool:
        """Its job type and plan are ones this service serves (app.domain's values)."""
        return JobType.parse(self.job_type) is not None and Plan.parse(self.user_plan) is not None

    def encode(self) -> bytes:
        """UTF-8 JSON, the wire form."""
        return json.dumps(
            {"job_id": str(self.job_id), "job_type": self.job_type, "user_plan": self.user_plan},
            separators=(",", ":"),
        ).encode()

    @classmethod
    def decode(cls, raw: bytes | None) -> JobMessage:
        """Parse and validate a message; raise PoisonMessage when it is not one of ours."""
        try:
            data = json.loads(raw or b"")
            message = cls(uuid.UUID(data["job_id"]), data["job_type"], data["user_plan"])
        except (ValueError, KeyError, TypeError, AttributeError) as exc:
            raise PoisonMessage(f"not a job message: {exc}") from exc
        if not message.known:
            raise PoisonMessage(f"unknown job type or plan: {message.job_type!r}/{message.user_plan!r}")
        return message
