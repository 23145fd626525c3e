"""GraphQL over HTTP against the live API: application/graphql-response+json answers with the spec's
status codes (400 and no `data` for a request that fails before execution, 200 with `data` once
execution ran, 405 for a mutation over GET, 406 when neither type is acceptable), and
application/json clients get exactly what they got before. tests/e2e/test_graphql_http_audit.py
runs the spec's own audit suite."""

from __future__ import annotations

from typing import Any

import asyncpg
import httpx

from app.settings import Settings
from tests.integration.security_helpers import NOTHING, SUBMIT, stored_for
from tests.support import Api, b64, new_user, png_bytes

GRAPHQL_RESPONSE = "application/graphql-response+json"
NEW = {"Accept": f"{GRAPHQL_RESPONSE}, application/json;q=0.9"}  # what the spec tells clients to send
UNKNOWN_FIELD = {"message": "Cannot query field 'nope' on type 'Query'.", "locations": [{"line": 1, "column": 3}],
                 "extensions": {"code": "BAD_USER_INPUT"}}
NULL_ID = {"message": "Variable '$id' has invalid value: Expected value of non-null type 'ID!' not to be None.",
           "locations": [{"line": 1, "column": 7}], "extensions": {"code": "BAD_USER_INPUT"}}


async def _post(api: Api, body: dict[str, Any], headers: dict[str, str]) -> httpx.Response:
    return await api.client.post(api.base_url + "/graphql", json=body, headers=headers)


def _is(response: httpx.Response, status: int, content_type: str) -> bool:
    return (response.status_code, response.headers["content-type"], response.headers["vary"]) == (
        status, content_type, "Accept")


async def test_a_spec_client_gets_400_and_no_data_for_a_request_that_never_executes(
    api: Api, settings: Settings
) -> None:
    user = new_user(settings)
    syntax = await _post(api, {"query": "{"}, {**user.headers, **NEW})
    assert _is(syntax, 400, GRAPHQL_RESPONSE), syntax.text
    [error] = syntax.json()["errors"]
    assert syntax.json().keys() == {"errors"}
    assert error["message"].startswith("Syntax Error") and error["extensions"] == {"code": "BAD_USER_INPUT"}

    invalid = await _post(api, {"query": "{ nope }"}, {**user.headers, **NEW})
    assert _is(invalid, 400, GRAPHQL_RESPONSE) and invalid.json() == {"errors": [UNKNOWN_FIELD]}

    coercion = await _post(api, {"query": "query($id: ID!) { productJob(id: $id) { id } }", "variables": {"id": None}},
                           {**user.headers, **NEW})
    assert _is(coercion, 400, GRAPHQL_RESPONSE) and coercion.json() == {"errors": [NULL_ID]}


async def test_a_spec_client_gets_200_and_data_once_execution_ran(api: Api, settings: Settings) -> None:
    user = new_user(settings)
    ok = await _post(api, {"query": "{ me { id } }"}, {**user.headers, **NEW})
    assert _is(ok, 200, GRAPHQL_RESPONSE) and ok.json() == {"data": {"me": {"id": str(user.id)}}}
    # a field error is an execution result: data stays (null here), status 200
    anonymous = await _post(api, {"query": "{ me { id } }"}, NEW)
    assert _is(anonymous, 200, GRAPHQL_RESPONSE)
    assert anonymous.json()["data"] is None
    assert [e["extensions"]["code"] for e in anonymous.json()["errors"]] == ["UNAUTHENTICATED"]


async def test_a_spec_client_gets_coded_refusals_for_malformed_requests(
    api: Api, settings: Settings, db: asyncpg.Connection
) -> None:
    user = new_user(settings)
    not_json = await api.client.post(api.base_url + "/graphql", content=b'{"query": "{ me',
                                     headers={**user.headers, **NEW, "Content-Type": "application/json"})
    assert _is(not_json, 400, GRAPHQL_RESPONSE)
    assert not_json.json() == {"errors": [{"message": "Unable to parse request body as JSON",
                                           "extensions": {"code": "BAD_REQUEST"}}]}

    query = 'mutation { submitReceipt(images: [{base64: "' + b64(png_bytes()) + '"}]) { id } }'
    over_get = await api.client.get(api.base_url + "/graphql", params={"query": query}, headers={**user.headers, **NEW})
    assert _is(over_get, 405, GRAPHQL_RESPONSE) and over_get.headers["allow"] == "POST"
    assert over_get.json() == {"errors": [{"message": "mutations are not allowed when using GET",
                                           "extensions": {"code": "METHOD_NOT_ALLOWED"}}]}

    variables = {"images": [{"base64": b64(png_bytes())}]}
    unacceptable = await _post(api, {"query": SUBMIT, "variables": variables}, {**user.headers, "Accept": "text/html"})
    assert _is(unacceptable, 406, "application/json")
    assert [e["extensions"]["code"] for e in unacceptable.json()["errors"]] == ["NOT_ACCEPTABLE"]
    assert await stored_for(db, user) == NOTHING


async def test_older_clients_get_application_json_as_before(api: Api, settings: Settings) -> None:
    user = new_user(settings)
    for accept in ({}, {"Accept": "*/*"}, {"Accept": "application/json"}):
        invalid = await _post(api, {"query": "{ nope }"}, {**user.headers, **accept})
        assert _is(invalid, 200, "application/json"), accept
        assert invalid.json() == {"data": None, "errors": [UNKNOWN_FIELD]}
    not_json = await api.client.post(api.base_url + "/graphql", content=b'{"query": "{ me',
                                     headers={**user.headers, "Content-Type": "application/json"})
    assert (not_json.status_code, not_json.text) == (400, "Unable to parse request body as JSON")
