"""Errors meant for the client, each with a stable code; every layer may raise them.

Services, auth and the HTTP guards raise them; the GraphQL layer (app.schema.errors) hands
their `extensions` (with `code`) to the client and masks every other exception as INTERNAL.
"""

from __future__ import annotations

from typing import Any


class ServiceError(Exception):
    """An error meant for the caller, with a stable code.

    `extensions` (with `code`) is picked up by graphql-core when a resolver raises this,
    so it reaches the client as the GraphQL error's `extensions`.
    """

    code = "INTERNAL"

    def __init__(self, message: str, **extensions: Any) -> None:
        super().__init__(message)
        self.extensions: dict[str, Any] = {"code": self.code, **extensions}


class BadUserInput(ServiceError):
    code = "BAD_USER_INPUT"


class NotFound(ServiceError):
    code = "NOT_FOUND"


class Unauthenticated(ServiceError):
    code = "UNAUTHENTICATED"


class QuotaExceeded(ServiceError):
    code = "QUOTA_EXCEEDED"
