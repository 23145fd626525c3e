"""Property-based fuzzing of the GraphQL schema (hypothesis-graphql) against a production-mode API process.

Valid documents (every query and mutation field, arbitrary arguments) and documents with one schema
violation each: the API must never answer a 5xx, never leak a stack trace or SQL, and never hit an
unexpected error (INTERNAL): every error is one of the codes a client is told about.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Iterator
from typing import Any

import graphql
import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis_graphql import Mode, from_schema

from app.graphql import export_sdl
from tests.conftest import TEST_SECRET
from tests.integration.security_helpers import Stack, api_with
from tests.support import b64, new_user, png_bytes

CLIENT_CODES = {"UNAUTHENTICATED", "BAD_USER_INPUT", "NOT_FOUND", "QUOTA_EXCEEDED"}
LEAKS = ("Traceback", 'File "', "sqlalchemy", "asyncpg", "psycopg", "SELECT ", "INSERT ", "/work/", ".py\"")
EXAMPLES = 250
SCALARS = {
    # an Upload can only arrive as a multipart file: inline, the fuzzer sends strings and nulls
    "Upload": st.one_of(st.just(graphql.NullValueNode()), st.text(max_size=20).map(
        lambda s: graphql.StringValueNode(value=s))),
}
IMAGE = b64(png_bytes())


@pytest.fixture(scope="module")
async def fuzz_api(database_url: str, kafka_bootstrap: str, tmp_path_factory: pytest.TempPathFactory
                   ) -> AsyncIterator[Stack]:
    async with api_with(database_url, kafka_bootstrap, tmp_path_factory.mktemp("fuzz"), "fuzz-api",
                        app_env="production", jwt_secret=TEST_SECRET, recognizer_receipt="local",
                        recognizer_products="local") as stack:
        yield stack


class Checker:
    """Posts documents to the API and checks each answer; counts what it saw."""

    def __init__(self, stack: Stack) -> None:
        self.url = stack.api.base_url + "/graphql"
        self.headers = new_user(stack.settings).headers
        self.client = httpx.Client(timeout=30)
        self.sent = 0
        self.codes: dict[str, int] = {}

    def check(self, document: str, variables: dict[str, Any] | None = None) -> None:
        response = self.client.post(self.url, json={"query": document, "variables": variables or {}},
                                    headers=self.headers)
        self.sent += 1
        assert response.status_code < 500, (document, response.status_code, response.text[:500])
        for leak in LEAKS:
            assert leak not in response.text, (document, response.text[:1000])
        if response.status_code != 200:  # strawberry's HTTP-level refusals are short plain text
            assert len(response.text) < 300, response.text
            return
        for error in response.json().get("errors", []):
            code = error.get("extensions", {}).get("code")
            self.codes[code] = self.codes.get(code, 0) + 1
            assert code in CLIENT_CODES, (document, error)


@pytest.fixture(scope="module")
def checker(fuzz_api: Stack) -> Iterator[Checker]:
    checker = Checker(fuzz_api)
    yield checker
    print(f"fuzz: {checker.sent} requests, error codes {sorted(checker.codes.items(), key=str)}")
    checker.client.close()


def fuzzed(run: Callable[[Checker], None], checker: Checker, at_least: int) -> None:
    """Run a hypothesis-driven test body and check that it really sent `at_least` requests
    (each test counts its own: under xdist a module's tests may share no process)."""
    before = checker.sent
    run(checker)
    assert checker.sent - before >= at_least


SDL = export_sdl()


@settings(max_examples=EXAMPLES, deadline=None, derandomize=True, database=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(document=from_schema(SDL, custom_scalars=SCALARS, mode=Mode.POSITIVE))
def _valid_documents(checker: Checker, document: str) -> None:
    checker.check(document)


def test_valid_documents_never_fail_unexpectedly(checker: Checker) -> None:
    fuzzed(_valid_documents, checker, EXAMPLES)


@settings(max_examples=EXAMPLES, deadline=None, derandomize=True, database=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(document=from_schema(SDL, custom_scalars=SCALARS, mode=Mode.NEGATIVE))
def _violating_documents(checker: Checker, document: str) -> None:
    checker.check(document)


def test_documents_with_a_schema_violation_are_refused_cleanly(checker: Checker) -> None:
    fuzzed(_violating_documents, checker, EXAMPLES)


@settings(max_examples=EXAMPLES, deadline=None, derandomize=True, database=None,
          suppress_health_check=[HealthCheck.too_slow])
@given(
    lang=st.text(max_size=40), key=st.one_of(st.none(), st.text(max_size=140)),
    image=st.one_of(st.just(IMAGE), st.text(max_size=64), st.binary(max_size=64).map(b64)),
    after=st.one_of(st.none(), st.text(max_size=80)), first=st.integers(-(2**31), 2**31 - 1),
)
def _arbitrary_variables(
    checker: Checker, lang: str, key: str | None, image: str, after: str | None, first: int
) -> None:
    checker.check(
        "mutation($images: [ImageInput!]!, $lang: String!, $key: String) {"
        " submitProducts(images: $images, lang: $lang, idempotencyKey: $key) { id status } }",
        {"images": [{"base64": image}], "lang": lang, "key": key},
    )
    checker.check(
        "query($first: Int!, $after: String) { productJobHistory(first: $first, after: $after) {"
        " edges { cursor } pageInfo { hasNextPage } } }",
        {"first": first, "after": after},
    )


def test_arbitrary_variables_never_fail_unexpectedly(checker: Checker) -> None:
    fuzzed(_arbitrary_variables, checker, 2 * EXAMPLES)  # two requests per example
