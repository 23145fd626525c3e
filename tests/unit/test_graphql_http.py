"""Accept negotiation and request-error detection of the GraphQL over HTTP view (app.graphql_http)."""

from __future__ import annotations

import pytest

from app.graphql_http import GRAPHQL_RESPONSE, JSON, is_request_error, negotiate, request_error_status


@pytest.mark.parametrize(("accept", "expected"), [
    (None, JSON),  # no Accept: older clients
    ("", JSON),
    ("*/*", JSON),  # a wildcard alone never switches a client to the new status codes
    ("application/*", JSON),
    ("application/json", JSON),
    (GRAPHQL_RESPONSE, GRAPHQL_RESPONSE),
    (f"{GRAPHQL_RESPONSE}; charset=utf-8", GRAPHQL_RESPONSE),
    ("Application/GraphQL-Response+JSON", GRAPHQL_RESPONSE),
    (f"{GRAPHQL_RESPONSE}, application/json;q=0.9", GRAPHQL_RESPONSE),  # what the spec tells clients to send
    (f"application/json, {GRAPHQL_RESPONSE}", GRAPHQL_RESPONSE),  # equal q: the spec's own type
    (f"application/json, {GRAPHQL_RESPONSE};q=0.5", JSON),
    (f"{GRAPHQL_RESPONSE}, */*;q=0.1", GRAPHQL_RESPONSE),
    ("application/json, */*", JSON),
    (f"*/*;q=0.8, {GRAPHQL_RESPONSE};q=0", JSON),  # q=0 refuses the type the wildcard would allow
    ("text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8", JSON),  # a browser
    ("application/json, multipart/mixed", JSON),  # GraphiQL's fetcher
    ("text/html", None),
    ("application/json;q=0", None),
    ("application/json;q=oops", None),  # a range with a bad q counts for nothing
    ("application/xml, text/plain;q=0.5", None),
])
def test_negotiate_picks_the_media_type_as_http_ranks_it(accept: str | None, expected: str | None) -> None:
    assert negotiate(accept) == expected


def test_a_request_error_has_no_data_and_no_error_at_a_field() -> None:
    parse = {"data": None, "errors": [{"message": "Syntax Error", "locations": [{"line": 1, "column": 2}]}]}
    field = {"data": None, "errors": [{"message": "no", "path": ["me"], "extensions": {"code": "UNAUTHENTICATED"}}]}
    assert is_request_error(parse)
    assert not is_request_error(field)  # execution ran: the data entry stays, null
    assert not is_request_error({"data": {"me": None}, "errors": field["errors"]})
    assert not is_request_error({"data": {"__typename": "Query"}})
    assert request_error_status(parse) == 400
    assert request_error_status({"errors": [{"message": "internal error", "extensions": {"code": "INTERNAL"}}]}) == 500
