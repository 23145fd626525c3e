"""GraphQL hardening in-process: linear depth/alias counting, masking of unexpected errors, hidden suggestions."""

from __future__ import annotations

import pytest
import strawberry
from graphql import SelectionSetNode, parse

from app.graphql import build_schema
from app.observability.logs import request_id_var
from app.schema.errors import ErrorCodes, FoodaiSchema
from app.security.graphql_limits import Cost, DocumentCost
from app.settings import Settings


def _bomb(levels: int) -> str:
    fragments = " ".join(f"fragment F{i} on Me {{ ...F{i + 1} ...F{i + 1} me {{ id }} }}" for i in range(levels))
    return "query Q { me { ...F0 } } " + fragments + f" fragment F{levels} on Me {{ a: id }}"


def _cost(query: str) -> tuple[int, int]:
    document = parse(query)
    op = document.definitions[0]
    found = DocumentCost(document).of(op.selection_set)  # type: ignore[attr-defined]
    return found.depth, found.aliases


def test_depth_and_aliases_count_through_fragments() -> None:
    assert _cost("{ me { id } }") == (2, 0)
    assert _cost("{ a: me { b: id } c: me { ... on Me { d: id } } }") == (2, 4)
    assert _cost("{ me { ...F ...F } } fragment F on Me { x: id y: plan }") == (2, 4)
    assert _cost("{ me { __typename } __schema { types { fields { name } } } }") == (1, 0)


def test_fragment_cycles_count_as_nothing() -> None:
    assert _cost("{ me { ...A } } fragment A on Me { a: id ...B } fragment B on Me { b: id ...A }") == (2, 2)


class _CountingCost(DocumentCost):
    """DocumentCost that counts the selection sets it walks (the work done, not the time taken)."""

    walked = 0

    def of(self, selection_set: SelectionSetNode | None) -> Cost:
        self.walked += 1
        return super().of(selection_set)


def test_an_exponential_fragment_chain_is_counted_in_linear_time() -> None:
    document = parse(_bomb(60))
    counter = _CountingCost(document)
    found = counter.of(document.definitions[0].selection_set)  # type: ignore[attr-defined]
    depth, aliases = found.depth, found.aliases
    # each fragment's selections once (memoised), not once per spread: F0..F59 walk themselves, their
    # `me` and its leaf `id` (3 each), F60 itself and its leaf (2), the operation and its `me` (2)
    assert counter.walked == 3 * 60 + 2 + 2
    assert aliases == 2**60
    assert depth == 3  # spreads add no depth; each fragment nests one field


def _schema(settings: Settings) -> strawberry.Schema:
    return build_schema(settings)


@pytest.mark.timeout(60)  # a hang guard: a naive walk of 2**40 spreads would never end
async def test_production_schema_refuses_the_bomb_quickly() -> None:
    schema = _schema(Settings(app_env="test"))  # type: ignore[arg-type]
    result = await schema.execute(_bomb(40))
    assert result.errors is not None
    assert "Q uses 1099511627776 aliases; at most 30 are allowed" in [e.message for e in result.errors]


@strawberry.type
class Broken:
    @strawberry.field
    def boom(self) -> str:
        raise RuntimeError('duplicate key value violates unique constraint "users_pkey" in SELECT * FROM users')

    @strawberry.field
    def fine(self) -> str:
        return "ok"


@pytest.mark.parametrize("hide", [False, True])
async def test_unexpected_errors_are_masked_with_a_request_id(hide: bool, caplog: pytest.LogCaptureFixture) -> None:
    schema = FoodaiSchema(query=Broken, extensions=[lambda: ErrorCodes(hide_suggestions=hide)])
    token = request_id_var.set("req-123")
    try:
        result = await schema.execute("{ boom fine }")
    finally:
        request_id_var.reset(token)
    assert result.data is None
    assert result.errors is not None
    [error] = result.errors
    assert error.formatted == {
        "message": "internal error (request id req-123)", "locations": [{"line": 1, "column": 3}], "path": ["boom"],
        "extensions": {"code": "INTERNAL", "requestId": "req-123"},
    }
    assert "SELECT" not in str(error.formatted) and "users_pkey" not in str(error.formatted)
    # the log has what the response does not: the request id and the original exception
    logged = [r for r in caplog.records if r.name == "foodai.errors"]
    assert len(logged) == 1 and "req-123" in logged[0].getMessage()
    assert logged[0].exc_info is not None and "users_pkey" in str(logged[0].exc_info[1])


async def test_suggestions_are_cut_only_when_asked() -> None:
    shown = FoodaiSchema(query=Broken, extensions=[lambda: ErrorCodes(hide_suggestions=False)])
    hidden = FoodaiSchema(query=Broken, extensions=[lambda: ErrorCodes(hide_suggestions=True)])
    assert "Did you mean 'fine'?" in (await shown.execute("{ fin }")).errors[0].message  # type: ignore[index]
    assert (await hidden.execute("{ fin }")).errors[0].message == "Cannot query field 'fin' on type 'Broken'."  # type: ignore[index]


@pytest.mark.parametrize(
    ("query", "message"),
    [("{ me {", "Syntax Error: Expected Name, found <EOF>."),
     ("{ me { " + "id " * 2100 + "} }", "Syntax Error: Document contains more than 2000 tokens. Parsing aborted."),
     ("{ me " + "{ me " * 900 + "{ id }" + " }" * 900 + " }",
      "Syntax Error: Document is nested too deeply. Parsing aborted.")],
    ids=["syntax", "tokens", "nesting"],
)
async def test_documents_that_do_not_parse_still_get_a_code(query: str, message: str) -> None:
    """The served schema caches parsing; a document that fails to parse must still pass through ErrorCodes."""
    schema = build_schema(Settings(app_env="test"))  # type: ignore[arg-type]
    for _ in range(2):  # a second time, in case a failure were cached
        result = await schema.execute(query)
        assert result.errors is not None
        assert [(e.message, e.extensions) for e in result.errors] == [(message, {"code": "BAD_USER_INPUT"})]


async def test_introspection_is_refused_only_where_it_is_disabled() -> None:
    """GraphQLLimits adds the introspection rule to the cost rule only when introspection is off."""
    query = "{ __schema { queryType { name } } }"
    allowed = await build_schema(Settings(app_env="test")).execute(query)  # type: ignore[arg-type]
    assert allowed.errors is None and allowed.data == {"__schema": {"queryType": {"name": "Query"}}}
    refused = await build_schema(Settings(app_env="test", graphql_introspection=False)).execute(query)  # type: ignore[arg-type]
    assert refused.errors is not None
    assert [(e.message, e.extensions) for e in refused.errors] == [
        (f"GraphQL introspection has been disabled, but the requested query contained the field '{field}'.",
         {"code": "BAD_USER_INPUT"})
        for field in ("__schema", "queryType")
    ]
