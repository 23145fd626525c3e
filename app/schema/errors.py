"""Every GraphQL error carries `extensions.code`; unexpected errors are masked and logged with a request id."""

from __future__ import annotations

import logging
import re
import uuid
from collections.abc import Iterator

import strawberry
from graphql.error import GraphQLError
from strawberry.extensions import MaskErrors, ParserCache
from strawberry.types import ExecutionContext

from app.errors import ServiceError
from app.observability.logs import request_id_var

log = logging.getLogger("foodai.errors")
_SUGGESTION = re.compile(r"\s*Did you mean .*$", re.DOTALL)


def _is_unexpected(error: GraphQLError) -> bool:
    original = error.original_error
    return original is not None and not isinstance(original, (ServiceError, GraphQLError))


class ErrorCodes(MaskErrors):
    """Masks unexpected exceptions as INTERNAL; tags the rest (validation, coercion) BAD_USER_INPUT.

    With `hide_suggestions` (production) "Did you mean ...?" hints are cut from every message,
    so field, argument and enum names cannot be guessed one typo at a time.
    """

    def __init__(self, *, hide_suggestions: bool = False) -> None:
        super().__init__(should_mask_error=_is_unexpected, error_message="internal error")
        self.hide_suggestions = hide_suggestions

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
            if self.hide_suggestions:
                error.message = _SUGGESTION.sub("", error.message)
            if not (error.extensions or {}).get("code"):
                error.extensions = {**(error.extensions or {}), "code": "BAD_USER_INPUT"}
        return processed


class FoodaiSchema(strawberry.Schema):
    """strawberry.Schema logging a refused request as one short line, not an error with a traceback.

    strawberry logs every GraphQL error with its traceback; for a client's mistake that is
    noise, and the traceback's locals can hold the request's images and token. Unexpected
    errors are logged (with their traceback and the request id) by ErrorCodes.
    """

    def process_errors(self, errors: list[GraphQLError], execution_context: ExecutionContext | None = None) -> None:
        for error in errors:
            if not _is_unexpected(error):
                code = (error.extensions or {}).get("code", "BAD_USER_INPUT")
                log.info("refused (%s): %s", code, error.message[:300])


class CodedParserCache(ParserCache):
    """strawberry's ParserCache, except that a document that does not parse is left to strawberry.

    ParserCache parses inside its hook, so a syntax error (or the token and nesting limits,
    which abort parsing) escapes as an exception and skips ErrorCodes: the client would get
    an error without `extensions.code`. Here such a document is parsed again by strawberry,
    whose error path runs every extension.
    """

    def on_parse(self) -> Iterator[None]:
        context = self.execution_context
        try:
            context.graphql_document = self.cached_parse_document(context.query, **context.parse_options)
        except GraphQLError:
            context.graphql_document = None
        yield
