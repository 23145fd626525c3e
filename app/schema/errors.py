"""Every GraphQL error carries `extensions.code`; unexpected errors are masked and logged with a request id."""

from __future__ import annotations

import logging
import uuid
from contextvars import ContextVar

from graphql.error import GraphQLError
from strawberry.extensions import MaskErrors

from app.services.errors import ServiceError

log = logging.getLogger("foodai.errors")
request_id_var: ContextVar[str | None] = ContextVar("request_id", default=None)


def _is_unexpected(error: GraphQLError) -> bool:
    original = error.original_error
    return original is not None and not isinstance(original, (ServiceError, GraphQLError))


class ErrorCodes(MaskErrors):
    """Masks unexpected exceptions as INTERNAL; tags the rest (validation, coercion) BAD_USER_INPUT."""

    def __init__(self) -> None:
        super().__init__(should_mask_error=_is_unexpected, error_message="internal error")

    def anonymise_error(self, error: GraphQLError) -> GraphQLError:
        request_id = request_id_var.get() or uuid.uuid4().hex
        log.error("unexpected error (request %s) at %s", request_id, error.path, exc_info=error.original_error)
        return GraphQLError(
            message=f"internal error (request id {request_id})",
            nodes=error.nodes, source=error.source, positions=error.positions, path=error.path,
            extensions={"code": "INTERNAL", "requestId": request_id},
        )

    def _process_errors(self, errors: list[GraphQLError]) -> list[GraphQLError]:
        processed = super()._process_errors(errors)
        for error in processed:
            if not (error.extensions or {}).get("code"):
                error.extensions = {**(error.extensions or {}), "code": "BAD_USER_INPUT"}
        return processed
