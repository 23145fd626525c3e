"""GraphQL over HTTP as its spec says: `application/graphql-response+json`, and `application/json` for older clients.

The response's media type is negotiated from Accept (q-values and wildcards as HTTP has them):
`application/graphql-response+json` when the client names it at least as high as anything
else, `application/json` when it names that, sends `*/*` or `application/*`, or no Accept at
all, and 406 when it accepts neither.

Under `application/graphql-response+json` the status says what happened: a request that
fails before execution (a document that does not parse or validate, variables that do not
coerce, an unknown operation) gets 400 and a body without a `data` entry; an execution that
ran gets 200 with `data`, whatever its field errors; a mutation over GET gets 405. Refusals
that strawberry words as plain text come as GraphQL errors with `extensions.code`.

Under `application/json` everything answers as before: 200 with `data: null` and `errors` for
a request that fails before execution, strawberry's plain-text 4xx for a malformed one.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from cross_web import AsyncHTTPRequestAdapter, HTTPException
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.types import Receive, Scope, Send
from starlette.websockets import WebSocket
from strawberry.asgi import GraphQL
from strawberry.http import GraphQLHTTPResponse, GraphQLRequestData
from strawberry.http.typevars import Context, RootValue
from strawberry.schema.exceptions import InvalidOperationTypeError
from strawberry.types import ExecutionResult
from strawberry.types.graphql import OperationType

GRAPHQL_RESPONSE = "application/graphql-response+json"
JSON = "application/json"
# Candidates in tie order: when only a wildcard picks them (`*/*`), older clients get application/json.
_CANDIDATES = (JSON, GRAPHQL_RESPONSE)
_EXACT, _TYPE_WILDCARD, _ANY = 2, 1, 0
_CODES = {400: "BAD_REQUEST", 404: "NOT_FOUND", 405: "METHOD_NOT_ALLOWED", 406: "NOT_ACCEPTABLE"}


def _media_ranges(accept: str) -> list[tuple[str, float]]:
    """Each media range of an Accept header with its q-value (1 when absent); a range with a bad q is left out."""
    ranges = []
    for part in accept.split(","):
        media, *params = (piece.strip() for piece in part.split(";"))
        q = 1.0
        for param in params:
            name, _, value = param.partition("=")
            if name.strip().lower() == "q":
                try:
                    q = min(max(float(value), 0.0), 1.0)
                except ValueError:
                    q = -1.0
        if media and q >= 0:
            ranges.append((media.lower(), q))
    return ranges


def _match(candidate: str, ranges: Sequence[tuple[str, float]]) -> tuple[float, int] | None:
    """The q-value the most specific range matching `candidate` gives it, and that range's specificity."""
    kind = candidate.split("/")[0]
    found: tuple[float, int] | None = None
    for media, q in ranges:
        specificity = (_EXACT if media == candidate else _TYPE_WILDCARD if media == f"{kind}/*"
                       else _ANY if media == "*/*" else None)
        if specificity is not None and (found is None or (specificity, q) > (found[1], found[0])):
            found = (q, specificity)
    return found


def negotiate(accept: str | None) -> str | None:
    """The media type to answer in for this Accept header, or None when it accepts neither of ours."""
    if not accept or not accept.strip():
        return JSON
    ranges = _media_ranges(accept)
    best: str | None = None
    best_key = (0.0, -1, 0)
    for candidate in _CANDIDATES:
        match = _match(candidate, ranges)
        if match is None or match[0] <= 0:
            continue
        q, specificity = match
        key = (q, specificity, int(candidate == GRAPHQL_RESPONSE and specificity == _EXACT))
        if key > best_key:
            best, best_key = candidate, key
    return best


def is_request_error(response: Mapping[str, Any]) -> bool:
    """True for a result that never reached execution: no data, and errors none of which has a field path."""
    errors = response.get("errors") or []
    return response.get("data") is None and bool(errors) and not any("path" in error for error in errors)


def request_error_status(response: Mapping[str, Any]) -> int:
    """400 for the client's mistake; 500 when what stopped the request was our own (masked as INTERNAL)."""
    codes = {(error.get("extensions") or {}).get("code") for error in response.get("errors") or []}
    return 500 if "INTERNAL" in codes else 400


class GraphQLOverHTTP(GraphQL[Context, RootValue]):
    """strawberry's ASGI view, negotiating the response media type and answering each as the spec says."""

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await super().__call__(scope, receive, send)
            return
        request = Request(scope, receive=receive)
        try:
            response = await self.run(request)
        except HTTPException as exc:
            response = self.refusal(exc, negotiate(request.headers.get("accept")))
        response.headers.add_vary_header("Accept")  # the same URL answers differently per Accept: caches must know
        await response(scope, receive, send)

    def refusal(self, exc: HTTPException, media: str | None) -> Response:
        """A malformed request's answer: plain text for application/json clients (as before), else a coded error."""
        if media == JSON:
            return PlainTextResponse(exc.reason, status_code=exc.status_code)
        body = {"errors": [{"message": exc.reason, "extensions": {"code": _CODES.get(exc.status_code, "BAD_REQUEST")}}]}
        headers = {"Allow": "POST"} if exc.status_code == 405 else None
        return Response(self.encode_json(body), exc.status_code, headers, media or JSON)

    async def get_sub_response(self, request: Request | WebSocket) -> Response:
        sub_response = await super().get_sub_response(request)
        sub_response.media_type = negotiate(request.headers.get("accept"))
        return sub_response

    async def parse_http_body(self, request: AsyncHTTPRequestAdapter) -> GraphQLRequestData | list[GraphQLRequestData]:
        """After strawberry's GraphiQL check (a browser asking for HTML), so only GraphQL requests get 406."""
        if negotiate(request.headers.get("accept")) is None:
            raise HTTPException(406, f"this endpoint answers in {GRAPHQL_RESPONSE} or {JSON}; the Accept header "
                                     "names neither")
        return await super().parse_http_body(request)

    async def execute_single(self, request: Request, request_adapter: AsyncHTTPRequestAdapter,
                             sub_response: Response, context: Context, root_value: RootValue | None,
                             request_data: GraphQLRequestData) -> ExecutionResult:
        """strawberry's, with a mutation over GET refused with 405 (the spec's MUST) for spec-aware clients."""
        try:
            return await super().execute_single(
                request=request, request_adapter=request_adapter, sub_response=sub_response, context=context,
                root_value=root_value, request_data=request_data,
            )
        except HTTPException as exc:
            cause = exc.__cause__
            if (sub_response.media_type == GRAPHQL_RESPONSE and request_adapter.method == "GET"
                    and isinstance(cause, InvalidOperationTypeError)
                    and cause.operation_type is OperationType.MUTATION):
                raise HTTPException(405, exc.reason) from exc
            raise

    def create_response(self, response_data: GraphQLHTTPResponse | list[GraphQLHTTPResponse],
                        sub_response: Response) -> Response:
        media = sub_response.media_type or JSON
        body: object = response_data
        status = 200
        if media == GRAPHQL_RESPONSE and isinstance(response_data, dict) and is_request_error(response_data):
            body = {key: value for key, value in response_data.items() if key != "data"}
            status = request_error_status(response_data)
        response = Response(self.encode_json(body), status_code=sub_response.status_code or status, media_type=media)
        response.headers.raw.extend(sub_response.headers.raw)
        response.background = sub_response.background
        return response
