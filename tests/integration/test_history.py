"""Job lists: keyset-paginated history (order, cursors, concurrent inserts, filters) and the recent list."""

from __future__ import annotations

import asyncio
import base64
import itertools
import json
import uuid
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest

from app.settings import Settings
from tests.support import (
    SUBMIT_PRODUCTS,
    SUBMIT_RECEIPT,
    WATCH_JOB,
    Api,
    User,
    b64,
    new_user,
    png_bytes,
    scripted_image,
)

HISTORY = (
    "query($first: Int!, $after: String, $jobType: ProductJobType, $status: ProductJobStatus) {"
    " productJobHistory(first: $first, after: $after, jobType: $jobType, status: $status) {"
    " edges { cursor node { id jobType status createdAt } } pageInfo { hasNextPage endCursor } } }"
)
RECENT = "query($limit: Int!) { productJobs(limit: $limit) { id createdAt } }"
RECENT_DEFAULT = "{ productJobs { id } }"
HISTORY_DEFAULT = "{ productJobHistory { edges { node { id } } pageInfo { hasNextPage } } }"
BAD_CURSOR = ("after is not a cursor from this API", {"code": "BAD_USER_INPUT", "field": "after"})


async def _submit(api: Api, user: User, payload: str = "MILK 1L*1*l*1.19", *, products: bool = False,
                  raw: bytes | None = None) -> str:
    image = raw if raw is not None else scripted_image(payload)
    body = await api.gql(SUBMIT_PRODUCTS if products else SUBMIT_RECEIPT, {"images": [{"base64": b64(image)}]},
                         user=user)
    assert "errors" not in body, body
    return str(body["data"]["submitProducts" if products else "submitReceipt"]["id"])


async def _submit_many(api: Api, user: User, n: int) -> list[str]:
    """n jobs, one after another: the returned order is the creation order."""
    return [await _submit(api, user, f"ITEM {i}*1*pcs*1.00") for i in range(n)]


async def _page(api: Api, user: User, first: int, after: str | None = None, **filters: str) -> dict[str, Any]:
    body = await api.gql(HISTORY, {"first": first, "after": after, **filters}, user=user)
    assert "errors" not in body, body
    page: dict[str, Any] = body["data"]["productJobHistory"]
    if page["edges"]:
        assert page["pageInfo"]["endCursor"] == page["edges"][-1]["cursor"]
    else:
        assert page["pageInfo"]["endCursor"] is None
    return page


def _ids(page: dict[str, Any]) -> list[str]:
    return [e["node"]["id"] for e in page["edges"]]


async def _all_pages(api: Api, user: User, first: int, **filters: str) -> list[dict[str, Any]]:
    pages = [await _page(api, user, first, **filters)]
    while pages[-1]["pageInfo"]["hasNextPage"]:
        pages.append(await _page(api, user, first, pages[-1]["pageInfo"]["endCursor"], **filters))
    return pages


async def _errors(api: Api, user: User, query: str, variables: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    body = await api.gql(query, variables, user=user)
    assert body["data"] is None, body
    return [(e["message"], e["extensions"]) for e in body["errors"]]


def _cursor(value: object) -> str:
    return base64.urlsafe_b64encode(json.dumps(value).encode()).decode().rstrip("=")


def _uuid7_ms(job_id: str) -> int:
    value = uuid.UUID(job_id)
    assert value.version == 7
    return value.int >> 80


# --- paging --------------------------------------------------------------------------------------


async def test_history_pages_through_25_jobs_newest_first(api: Api, settings: Settings) -> None:
    user = new_user(settings)
    submitted = await _submit_many(api, user, 25)

    pages = await _all_pages(api, user, 10)
    assert [len(p["edges"]) for p in pages] == [10, 10, 5]
    assert [p["pageInfo"]["hasNextPage"] for p in pages] == [True, True, False]
    seen = [job_id for p in pages for job_id in _ids(p)]
    assert seen == submitted[::-1]  # every job exactly once, newest first
    assert len(set(seen)) == 25

    created = [datetime.fromisoformat(e["node"]["createdAt"]) for p in pages for e in p["edges"]]
    assert all(a > b for a, b in itertools.pairwise(created))  # createdAt strictly descending
    stamps = [_uuid7_ms(job_id) for job_id in seen]  # UUIDv7: their time prefix agrees with that order
    assert stamps == sorted(stamps, reverse=True)
    for job_id, at in zip(seen, created, strict=True):
        assert 0 <= _uuid7_ms(job_id) - int(at.timestamp() * 1000) < 60_000

    # past the last page: nothing, and no cursor
    end = await _page(api, user, 10, pages[-1]["pageInfo"]["endCursor"])
    assert end == {"edges": [], "pageInfo": {"hasNextPage": False, "endCursor": None}}
    # the recent list agrees with the history
    recent = (await api.gql(RECENT, {"limit": 100}, user=user))["data"]["productJobs"]
    assert [j["id"] for j in recent] == seen


async def test_page_size_equal_to_the_total_has_no_next_page(api: Api, settings: Settings) -> None:
    user = new_user(settings)
    submitted = await _submit_many(api, user, 4)
    page = await _page(api, user, 4)
    assert _ids(page) == submitted[::-1] and page["pageInfo"]["hasNextPage"] is False
    page = await _page(api, user, 3)
    assert _ids(page) == submitted[:0:-1] and page["pageInfo"]["hasNextPage"] is True
    page = await _page(api, user, 1, page["pageInfo"]["endCursor"])
    assert _ids(page) == submitted[:1] and page["pageInfo"]["hasNextPage"] is False


async def test_jobs_inserted_while_paging_neither_repeat_nor_hide_older_ones(api: Api, settings: Settings) -> None:
    user = new_user(settings)
    original = (await _submit_many(api, user, 25))[::-1]  # newest first

    first = await _page(api, user, 10)
    assert _ids(first) == original[:10]
    added = await asyncio.gather(*(_submit(api, user, f"NEW {i}*1*pcs*1.00") for i in range(5)))
    assert len(set(added)) == 5

    second = await _page(api, user, 10, first["pageInfo"]["endCursor"])
    third = await _page(api, user, 10, second["pageInfo"]["endCursor"])
    assert _ids(second) == original[10:20]
    assert _ids(third) == original[20:]
    assert [second["pageInfo"]["hasNextPage"], third["pageInfo"]["hasNextPage"]] == [True, False]

    fresh = await _page(api, user, 10)
    assert set(_ids(fresh)[:5]) == set(added)  # the new ones come first ...
    assert _ids(fresh)[5:] == original[:5]  # ... then the newest of the older ones
    created = [datetime.fromisoformat(e["node"]["createdAt"]) for e in fresh["edges"]]
    assert created == sorted(created, reverse=True)
    everything = [job_id for p in await _all_pages(api, user, 7) for job_id in _ids(p)]
    assert len(everything) == len(set(everything)) == 30
    assert everything[5:] == original


# --- filters -------------------------------------------------------------------------------------


async def _finish(api: Api, user: User, job_id: str) -> str:
    async with api.ws(user=user) as ws:
        assert await ws.recv() == {"type": "connection_ack"}
        op = await ws.subscribe(WATCH_JOB, {"id": job_id})
        events = await ws.collect(op)
    return str(events[-1]["data"]["productJob"]["status"])


async def test_history_filters_by_job_type_and_status(api: Api, settings: Settings) -> None:
    user = new_user(settings)
    r1 = await _submit(api, user)
    p1 = await _submit(api, user, "APPLES*1*kg*2.00", products=True)
    r_failed = await _submit(api, user, raw=png_bytes("FOODAI-FAIL"))
    r2 = await _submit(api, user, "BREAD*1*pcs*2.10")
    p2 = await _submit(api, user, "EGGS*10*pcs*2.99", products=True)
    statuses = [await _finish(api, user, j) for j in (r1, p1, r_failed, r2, p2)]
    assert statuses == ["DONE", "DONE", "FAILED", "DONE", "DONE"]

    async def ids(**filters: str) -> list[str]:
        return [job_id for p in await _all_pages(api, user, 100, **filters) for job_id in _ids(p)]

    assert await ids() == [p2, r2, r_failed, p1, r1]
    assert await ids(jobType="RECEIPT") == [r2, r_failed, r1]
    assert await ids(jobType="PRODUCTS") == [p2, p1]
    assert await ids(status="FAILED") == [r_failed]
    assert await ids(status="DONE") == [p2, r2, p1, r1]
    assert await ids(status="PENDING") == []
    assert await ids(status="PROCESSING") == []
    assert await ids(jobType="RECEIPT", status="DONE") == [r2, r1]
    assert await ids(jobType="PRODUCTS", status="FAILED") == []

    # paging inside a filter: one at a time
    pages = await _all_pages(api, user, 1, jobType="RECEIPT")
    assert [_ids(p) for p in pages] == [[r2], [r_failed], [r1]]
    assert [p["pageInfo"]["hasNextPage"] for p in pages] == [True, True, False]
    assert {e["node"]["jobType"] for p in pages for e in p["edges"]} == {"RECEIPT"}
    # a cursor taken from the unfiltered list works with a filter
    unfiltered = await _page(api, user, 2)
    assert _ids(unfiltered) == [p2, r2]
    assert _ids(await _page(api, user, 10, unfiltered["pageInfo"]["endCursor"], status="DONE")) == [p1, r1]


async def test_bad_filter_values_are_bad_user_input(api: Api, settings: Settings) -> None:
    user = new_user(settings)
    errors = await _errors(api, user, HISTORY, {"first": 10, "status": "done"})
    assert [e[1] for e in errors] == [{"code": "BAD_USER_INPUT"}]
    errors = await _errors(api, user, HISTORY, {"first": 10, "jobType": "VIDEO"})
    assert [e[1] for e in errors] == [{"code": "BAD_USER_INPUT"}]


# --- the recent list and limits ------------------------------------------------------------------


async def test_product_jobs_limit_returns_the_newest(api: Api, settings: Settings) -> None:
    user = new_user(settings)
    submitted = await _submit_many(api, user, 5)
    three = (await api.gql(RECENT, {"limit": 3}, user=user))["data"]["productJobs"]
    assert [j["id"] for j in three] == submitted[:1:-1]
    one = (await api.gql(RECENT, {"limit": 1}, user=user))["data"]["productJobs"]
    assert [j["id"] for j in one] == submitted[-1:]
    default = (await api.gql(RECENT_DEFAULT, user=user))["data"]["productJobs"]
    assert [j["id"] for j in default] == submitted[::-1]
    hundred = (await api.gql(RECENT, {"limit": 100}, user=user))["data"]["productJobs"]
    assert [j["id"] for j in hundred] == submitted[::-1]
    history = (await api.gql(HISTORY_DEFAULT, user=user))["data"]["productJobHistory"]
    assert [e["node"]["id"] for e in history["edges"]] == submitted[::-1]
    assert history["pageInfo"]["hasNextPage"] is False


@pytest.mark.parametrize("limit", [0, -1, 101, 2**31 - 1])
async def test_product_jobs_limit_out_of_range(api: Api, settings: Settings, limit: int) -> None:
    user = new_user(settings)
    assert await _errors(api, user, RECENT, {"limit": limit}) == [
        ("limit must be between 1 and 100", {"code": "BAD_USER_INPUT", "field": "limit"})
    ]


@pytest.mark.parametrize("first", [0, -5, 101])
async def test_history_first_out_of_range(api: Api, settings: Settings, first: int) -> None:
    user = new_user(settings)
    assert await _errors(api, user, HISTORY, {"first": first}) == [
        ("first must be between 1 and 100", {"code": "BAD_USER_INPUT", "field": "first"})
    ]


async def test_history_first_of_100_is_allowed(api: Api, settings: Settings) -> None:
    user = new_user(settings)
    assert await _page(api, user, 100) == {"edges": [], "pageInfo": {"hasNextPage": False, "endCursor": None}}


async def test_limit_beyond_int32_is_bad_user_input(api: Api, settings: Settings) -> None:
    user = new_user(settings)
    errors = await _errors(api, user, RECENT, {"limit": 2**31})
    assert [e[1] for e in errors] == [{"code": "BAD_USER_INPUT"}]


# --- cursors -------------------------------------------------------------------------------------

MALFORMED_CURSORS = {
    "abc": "abc",
    "empty": "",
    "base64-junk": base64.urlsafe_b64encode(b"\x00\xffjunk\x81\x82").decode(),
    "base64-of-text": base64.b64encode(b"page=2").decode(),
    "json-object": _cursor({"created_at": "2025-01-01T00:00:00+00:00", "id": str(uuid.UUID(int=1))}),
    "naive-datetime": _cursor(["2025-01-01T00:00:00", str(uuid.UUID(int=1))]),
    "bad-uuid": _cursor(["2025-01-01T00:00:00+00:00", "job-42"]),
    "too-many-parts": _cursor(["2025-01-01T00:00:00+00:00", str(uuid.UUID(int=1)), 3]),
    "offset-number": "10",
}


@pytest.mark.parametrize("cursor", MALFORMED_CURSORS.values(), ids=MALFORMED_CURSORS.keys())
async def test_malformed_cursor_is_bad_user_input(api: Api, settings: Settings, cursor: str) -> None:
    user = new_user(settings)
    await _submit(api, user)
    assert await _errors(api, user, HISTORY, {"first": 10, "after": cursor}) == [BAD_CURSOR]


async def test_cursor_with_a_numeric_id_is_bad_user_input(api: Api, settings: Settings) -> None:
    user = new_user(settings)
    cursor = _cursor(["2025-01-01T00:00:00+00:00", 42])
    assert await _errors(api, user, HISTORY, {"first": 10, "after": cursor}) == [BAD_CURSOR]


async def test_well_formed_cursor_naming_any_position_pages_from_there(api: Api, settings: Settings) -> None:
    user = new_user(settings)
    submitted = (await _submit_many(api, user, 4))[::-1]  # newest first
    page = await _page(api, user, 10)
    created = [datetime.fromisoformat(e["node"]["createdAt"]) for e in page["edges"]]

    future = _cursor([(datetime.now(UTC) + timedelta(days=365)).isoformat(), str(uuid.uuid4())])
    assert _ids(await _page(api, user, 10, future)) == submitted
    past = _cursor([datetime(2000, 1, 1, tzinfo=UTC).isoformat(), str(uuid.uuid4())])
    assert await _page(api, user, 10, past) == {"edges": [], "pageInfo": {"hasNextPage": False, "endCursor": None}}
    # between the 2nd and 3rd newest, naming no job at all
    middle = created[2] + (created[1] - created[2]) / 2
    assert created[2] < middle < created[1]
    between = _cursor([middle.isoformat(), str(uuid.uuid4())])
    assert _ids(await _page(api, user, 10, between)) == submitted[2:]
    # the same instant in another offset names the same position
    shifted = _cursor([middle.astimezone(timezone(timedelta(hours=-7))).isoformat(), str(uuid.uuid4())])
    assert _ids(await _page(api, user, 10, shifted)) == submitted[2:]


async def test_another_users_cursor_only_ever_returns_the_callers_jobs(api: Api, settings: Settings) -> None:
    alice, bob = new_user(settings), new_user(settings)
    bob_older = await _submit_many(api, bob, 2)
    alice_jobs = await _submit_many(api, alice, 3)
    bob_newer = await _submit_many(api, bob, 2)

    alice_page = await _page(api, alice, 2)
    assert _ids(alice_page) == alice_jobs[:0:-1]
    cursor = alice_page["pageInfo"]["endCursor"]  # names alice_jobs[1]

    from_bob = await _page(api, bob, 10, cursor)
    assert _ids(from_bob) == bob_older[::-1]  # Bob's jobs older than that position, and nothing of Alice's
    assert from_bob["pageInfo"]["hasNextPage"] is False
    assert not set(_ids(from_bob)) & set(alice_jobs)
    assert _ids(await _page(api, bob, 10)) == (bob_older + bob_newer)[::-1]
    # and Alice, with her own cursor, sees only hers
    assert _ids(await _page(api, alice, 10, cursor)) == alice_jobs[:1]
