"""GraphQL limits, against an API started with APP_ENV=production: depth, tokens, aliases (through fragments,
circular ones too), introspection, suggestions and GraphiQL off, operations per socket, connection_init timeout,
history cursors forged or malformed.
"""

from __future__ import annotations

import asyncio
import base64
import json
import time
import uuid
from collections.abc import AsyncIterator
from typing import Any

import asyncpg
import pytest
import websockets

from tests.conftest import TEST_SECRET
from tests.integration.security_helpers import SUBMIT, Stack, api_with, errors_of, stored
from tests.support import WATCH_JOB, Api, b64, new_user, scripted_image

BAD = {"code": "BAD_USER_INPUT"}
DEEPEST_VALID = (
    "{ productJobHistory(first: 1) { edges { node { result { items { box { x y } } } } } } }"
)


@pytest.fixture(scope="module")
async def prod(database_url: str, kafka_bootstrap: str, tmp_path_factory: pytest.TempPathFactory
               ) -> AsyncIterator[Stack]:
    """APP_ENV=production (the API never loads a recognizer: 'local' only satisfies the settings check)."""
    async with api_with(database_url, kafka_bootstrap, tmp_path_factory.mktemp("prod"), "prod-api",
                        app_env="production", jwt_secret=TEST_SECRET, recognizer_receipt="local",
                        recognizer_products="local", ws_connection_init_timeout_s=1.0) as stack:
        yield stack


async def _post(api: Api, query: str, variables: dict[str, Any] | None = None, **kwargs: Any) -> dict[str, Any]:
    response = await api.client.post(api.base_url + "/graphql", json={"query": query, "variables": variables or {}},
                                     **kwargs)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


# --- production: no schema discovery ---------------------------------------------------------------


async def test_introspection_is_refused_in_production(prod: Stack) -> None:
    user = new_user(prod.settings)
    for field in ("__schema { types { name } }", '__type(name: "ProductJob") { fields { name } }'):
        body = await _post(prod.api, "{ " + field + " }", headers=user.headers)
        name = field.split("(")[0].split(" ")[0]
        assert body["data"] is None
        assert body["errors"][0] == {
            "message": f"GraphQL introspection has been disabled, but the requested query contained the field "
                       f"'{name}'.",
            "locations": [{"line": 1, "column": 3}], "extensions": BAD,
        }
        assert {e["extensions"]["code"] for e in body["errors"]} == {"BAD_USER_INPUT"}
    # __typename is not introspection
    assert await _post(prod.api, "{ me { __typename } }", headers=user.headers) == {
        "data": {"me": {"__typename": "Me"}}
    }


async def test_suggestions_are_not_given_in_production(prod: Stack) -> None:
    user = new_user(prod.settings)
    cases = {
        "{ mee { id } }": "Cannot query field 'mee' on type 'Query'.",
        "{ me { idd } }": "Cannot query field 'idd' on type 'Me'.",
        "{ productJobs(limitt: 1) { id } }": "Unknown argument 'limitt' on field 'Query.productJobs'.",
        "{ productJobHistory(status: DON) { edges { cursor } } }": "Value 'DON' does not exist in 'ProductJobStatus'"
                                                                   " enum.",
    }
    for query, message in cases.items():
        body = await _post(prod.api, query, headers=user.headers)
        assert [e["message"] for e in body["errors"]] == [message], body
        assert "Did you mean" not in json.dumps(body)


async def test_graphiql_is_not_served_in_production(prod: Stack) -> None:
    response = await prod.api.client.get(prod.api.base_url + "/graphql", headers={"Accept": "text/html"})
    assert response.status_code == 404
    assert "graphiql" not in response.text.lower()


async def test_every_response_carries_a_request_id(prod: Stack) -> None:
    user = new_user(prod.settings)
    response = await prod.api.client.post(prod.api.base_url + "/graphql", json={"query": "{ mee }"},
                                          headers={**user.headers, "X-Request-Id": "trace-me-123"})
    assert response.headers["x-request-id"] == "trace-me-123"
    assert "Traceback" not in response.text and "File \"" not in response.text


# --- document limits -------------------------------------------------------------------------------


async def test_the_deepest_real_query_is_within_the_depth_limit(prod: Stack) -> None:
    user = new_user(prod.settings)
    assert await _post(prod.api, DEEPEST_VALID, headers=user.headers) == {
        "data": {"productJobHistory": {"edges": []}}
    }


async def test_depth_50_is_refused(prod: Stack, db: asyncpg.Connection) -> None:
    user = new_user(prod.settings)
    query = "{ me " + "{ me " * 49 + "{ id }" + " }" * 49 + " }"
    before = await stored(db)
    body = await _post(prod.api, query, headers=user.headers)
    assert body["data"] is None
    assert ("the operation is 51 levels deep; at most 10 are allowed", BAD) in errors_of(body)
    assert {e["extensions"]["code"] for e in body["errors"]} == {"BAD_USER_INPUT"}
    assert await stored(db) == before


async def test_depth_through_fragments_counts(prod: Stack) -> None:
    user = new_user(prod.settings)
    levels = 12
    fragments = " ".join(f"fragment F{i} on Me {{ me {{ ...F{i + 1} }} }}" for i in range(levels))
    query = "query Deep { me { ...F0 } } " + fragments + f" fragment F{levels} on Me {{ id }}"
    body = await _post(prod.api, query, headers=user.headers)
    assert ("Deep is 14 levels deep; at most 10 are allowed", BAD) in errors_of(body)


async def test_nesting_deeper_than_the_parser_recurses_is_a_clean_error(prod: Stack) -> None:
    user = new_user(prod.settings)
    query = "{ me " + "{ me " * 900 + "{ id }" + " }" * 900 + " }"
    response = await prod.api.client.post(prod.api.base_url + "/graphql", json={"query": query},
                                          headers=user.headers)
    assert response.status_code == 200, response.text[:300]
    body = response.json()
    assert body["data"] is None
    assert {e["extensions"]["code"] for e in body["errors"]} == {"BAD_USER_INPUT"}


async def test_too_many_tokens_are_refused_while_parsing(prod: Stack) -> None:
    user = new_user(prod.settings)
    query = "{ me { " + "id " * 2100 + "} }"
    body = await _post(prod.api, query, headers=user.headers)
    assert errors_of(body) == [("Syntax Error: Document contains more than 2000 tokens. Parsing aborted.", BAD)]


@pytest.mark.timeout(60)  # a hang guard: following the cycle would never end
async def test_circular_fragments_are_refused(prod: Stack) -> None:
    user = new_user(prod.settings)
    query = "{ me { ...A } } fragment A on Me { id ...B } fragment B on Me { plan ...A }"
    body = await _post(prod.api, query, headers=user.headers)
    assert body["data"] is None
    assert errors_of(body) == [("Cannot spread fragment 'A' within itself via 'B'.", BAD)]


async def test_1000_aliases_through_fragments_are_refused(prod: Stack) -> None:
    """Ten fragments, each spreading the next twice: 2**10 aliased fields from ~100 tokens."""
    user = new_user(prod.settings)
    fragments = " ".join(f"fragment F{i} on Me {{ ...F{i + 1} ...F{i + 1} }}" for i in range(10))
    query = "query Many { me { ...F0 } } " + fragments + " fragment F10 on Me { a: id }"
    body = await _post(prod.api, query, headers=user.headers)
    assert body["data"] is None
    assert ("Many uses 1024 aliases; at most 30 are allowed", BAD) in errors_of(body)


@pytest.mark.timeout(60)  # a hang guard: a naive walk of 2**40 spreads would never end
async def test_an_exponential_fragment_bomb_is_refused_at_once(prod: Stack) -> None:
    """Forty levels: 2**40 aliases and spreads if walked naively (strawberry's limiters would never finish)."""
    user = new_user(prod.settings)
    fragments = " ".join(f"fragment F{i} on Me {{ ...F{i + 1} ...F{i + 1} }}" for i in range(40))
    query = "query Bomb { me { ...F0 } } " + fragments + " fragment F40 on Me { a: id }"
    body = await _post(prod.api, query, headers=user.headers)
    assert ("Bomb uses 1099511627776 aliases; at most 30 are allowed", BAD) in errors_of(body)


async def test_thirty_aliases_are_fine(prod: Stack) -> None:
    user = new_user(prod.settings)
    query = "{ me { " + " ".join(f"a{i}: id" for i in range(30)) + " } }"
    body = await _post(prod.api, query, headers=user.headers)
    assert body["data"]["me"] == {f"a{i}": str(user.id) for i in range(30)}


# --- history cursors -------------------------------------------------------------------------------

HISTORY = "query($after: String) { productJobHistory(first: 5, after: $after) { edges { node { id } } } }"


def _cursor(value: object) -> str:
    return base64.urlsafe_b64encode(json.dumps(value).encode()).decode().rstrip("=")


@pytest.mark.parametrize(
    "cursor",
    [
        "%%%", "x" * 5000, _cursor(["2025-01-01T00:00:00+00:00", 42]), _cursor(["0001-01-01T00:00:00+01:00",
                                                                                str(uuid.uuid4())]),
        _cursor(["9999-12-31T23:59:59-01:00", str(uuid.uuid4())]), _cursor([[1] * 1000, str(uuid.uuid4())]),
        _cursor(["2025-01-01T00:00:00+00:00", str(uuid.uuid4()), "' OR 1=1 --"]), _cursor({"$ne": None}),
    ],
    ids=["not-base64", "huge", "numeric-id", "year-1-east-of-utc", "year-9999-west-of-utc", "nested", "sql", "nosql"],
)
async def test_malformed_or_forged_cursor_is_bad_user_input(prod: Stack, cursor: str) -> None:
    """A well-formed position is just a place in the caller's own list (ownership is in the query); anything
    else is refused as not ours, never an INTERNAL error."""
    user = new_user(prod.settings)
    body = await _post(prod.api, HISTORY, {"after": cursor}, headers=user.headers)
    assert errors_of(body) == [("after is not a cursor from this API", {**BAD, "field": "after"})]


# --- websockets -----------------------------------------------------------------------------------


async def test_no_connection_init_is_closed_4408(prod: Stack) -> None:
    url = prod.api.base_url.replace("http://", "ws://") + "/graphql"
    started = time.monotonic()
    async with websockets.connect(url, subprotocols=["graphql-transport-ws"]) as sock:  # type: ignore[list-item]
        with pytest.raises(websockets.ConnectionClosedError) as caught:
            async with asyncio.timeout(10):
                await sock.recv()
    assert caught.value.rcvd is not None
    assert (caught.value.rcvd.code, caught.value.rcvd.reason) == (4408, "Connection initialisation timeout")
    assert 0.9 <= time.monotonic() - started < 5


async def test_100_subscriptions_on_one_socket_only_the_first_20_run(prod: Stack, db: asyncpg.Connection) -> None:
    """No worker runs behind this API, so each subscription stays open on its PENDING job."""
    user = new_user(prod.settings)
    limit = prod.settings.ws_max_subscriptions
    assert limit == 20
    body = await prod.api.gql(SUBMIT, {"images": [{"base64": b64(scripted_image("A*1*pcs*1"))}]}, user=user)
    job_id = body["data"]["submitReceipt"]["id"]
    async with prod.api.ws(user=user) as ws:
        assert await ws.recv() == {"type": "connection_ack"}
        ids = [await ws.subscribe(WATCH_JOB, {"id": job_id}) for _ in range(100)]
        first: dict[str, dict[str, Any]] = {}
        async with asyncio.timeout(30):
            while len(first) < 100:
                message = await ws.recv()
                first.setdefault(message["id"], message)
        running = [i for i in ids if first[i]["type"] == "next"]
        refused = [i for i in ids if first[i]["type"] == "error"]
        assert running == ids[:limit]
        assert refused == ids[limit:]
        assert {json.dumps(first[i]["payload"]) for i in refused} == {json.dumps([{
            "message": f"at most {limit} operations at once on one connection",
            "extensions": {"code": "BAD_USER_INPUT", "max": limit},
        }])}
        # completing one frees a slot
        await ws.send({"id": ids[0], "type": "complete"})
        again = await ws.subscribe(WATCH_JOB, {"id": job_id})
        async with asyncio.timeout(30):
            while (message := await ws.recv())["id"] != again:
                pass
        assert message["type"] == "next"
