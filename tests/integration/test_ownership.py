"""Jobs are private: another user's job looks exactly like a job that does not exist."""

from __future__ import annotations

import uuid
from typing import Any

import asyncpg
import pytest

from app.settings import Settings
from tests.support import GET_JOB, SUBMIT_PRODUCTS, SUBMIT_RECEIPT, WATCH_JOB, Api, User, b64, new_user, scripted_image

LIST_JOBS = "query($limit: Int!) { productJobs(limit: $limit) { id } }"
HISTORY = (
    "query($first: Int!, $after: String) { productJobHistory(first: $first, after: $after) {"
    " edges { cursor node { id } } pageInfo { hasNextPage endCursor } } }"
)
CONFIRM = (
    "mutation($id: ID!, $items: [ConfirmedItemInput!]!) { confirmProductJob(id: $id, items: $items) {"
    " id confirmedItems { name } } }"
)
ITEMS = [{"name": "Milk", "quantity": 1.0, "unit": "l", "category": "dairy", "rawText": "MILK 1L"}]


async def _submit(api: Api, user: User, items: str = "MILK 1L*1*l*1.19", query: str = SUBMIT_RECEIPT) -> str:
    body = await api.gql(query, {"images": [{"base64": b64(scripted_image(items))}]}, user=user)
    assert "errors" not in body, body
    data = body["data"]
    return str(data.get("submitReceipt", data.get("submitProducts"))["id"])


async def _watch(api: Api, user: User, job_id: str) -> list[dict[str, Any]]:
    async with api.ws(user=user) as ws:
        assert await ws.recv() == {"type": "connection_ack"}
        op = await ws.subscribe(WATCH_JOB, {"id": job_id})
        return await ws.collect(op)


NOT_FOUND = [{"data": None, "errors": [{"message": "no such job", "extensions": {"code": "NOT_FOUND"}}]}]


async def test_another_users_job_reads_as_null_like_a_missing_one(api: Api, settings: Settings) -> None:
    owner, other = new_user(settings), new_user(settings)
    job_id = await _submit(api, owner)
    assert (await api.gql(GET_JOB, {"id": job_id}, user=owner))["data"]["productJob"]["id"] == job_id

    as_other = await api.gql(GET_JOB, {"id": job_id}, user=other)
    missing = await api.gql(GET_JOB, {"id": str(uuid.uuid4())}, user=other)
    assert as_other == {"data": {"productJob": None}}
    assert missing == {"data": {"productJob": None}}


async def test_lists_and_history_hold_only_the_callers_jobs(api: Api, settings: Settings) -> None:
    owner, other = new_user(settings), new_user(settings)
    owners = [await _submit(api, owner), await _submit(api, owner, query=SUBMIT_PRODUCTS)]
    others = [await _submit(api, other)]
    owners.append(await _submit(api, owner))

    listed = await api.gql(LIST_JOBS, {"limit": 100}, user=other)
    assert [j["id"] for j in listed["data"]["productJobs"]] == others
    history = (await api.gql(HISTORY, {"first": 100}, user=other))["data"]["productJobHistory"]
    assert [e["node"]["id"] for e in history["edges"]] == others
    assert history["pageInfo"]["hasNextPage"] is False

    mine = await api.gql(LIST_JOBS, {"limit": 100}, user=owner)
    assert [j["id"] for j in mine["data"]["productJobs"]] == owners[::-1]
    # a brand-new user sees an empty history, not someone else's
    stranger = new_user(settings)
    empty = (await api.gql(HISTORY, {"first": 100}, user=stranger))["data"]["productJobHistory"]
    assert empty == {"edges": [], "pageInfo": {"hasNextPage": False, "endCursor": None}}
    assert (await api.gql(LIST_JOBS, {"limit": 100}, user=stranger)) == {"data": {"productJobs": []}}


async def test_subscribing_to_another_users_job_is_not_found_like_a_missing_one(
    api: Api, settings: Settings
) -> None:
    owner, other = new_user(settings), new_user(settings)
    job_id = await _submit(api, owner)
    assert await _watch(api, other, job_id) == NOT_FOUND
    assert await _watch(api, other, str(uuid.uuid4())) == NOT_FOUND
    # the owner, on the same server, does see it (to DONE)
    events = await _watch(api, owner, job_id)
    assert events[0]["data"]["productJob"]["id"] == job_id
    assert events[-1]["data"]["productJob"]["status"] == "DONE"
    # and once it is terminal the other user still gets NOT_FOUND
    assert await _watch(api, other, job_id) == NOT_FOUND


async def test_confirming_another_users_job_is_not_found(
    api: Api, settings: Settings, db: asyncpg.Connection
) -> None:
    owner, other = new_user(settings), new_user(settings)
    job_id = await _submit(api, owner)
    assert (await _watch(api, owner, job_id))[-1]["data"]["productJob"]["status"] == "DONE"

    for target in (job_id, str(uuid.uuid4())):
        body = await api.gql(CONFIRM, {"id": target, "items": ITEMS}, user=other)
        assert body["data"] is None
        assert [(e["message"], e["extensions"]) for e in body["errors"]] == [
            ("no such job", {"code": "NOT_FOUND"})
        ]
    row = await db.fetchrow(
        "SELECT confirmed_items, confirmed_at FROM product_recognition_jobs WHERE id = $1", uuid.UUID(job_id)
    )
    assert row is not None and row["confirmed_items"] is None and row["confirmed_at"] is None
    assert await db.fetchval("SELECT count(*) FROM user_item_aliases WHERE user_id = $1", other.id) == 0
    assert await db.fetchval("SELECT count(*) FROM user_item_aliases WHERE user_id = $1", owner.id) == 0
    assert await db.fetchval("SELECT count(*) FROM users WHERE id = $1", other.id) == 0  # never provisioned


MALFORMED_IDS = [
    "nope", "", "123", "0190aaaa-0000-7000-8000-00000000000", "0190aaaa-0000-7000-8000-0000000000001", "' OR 1=1 --"
]
BAD_ID = ("id must be a job id (UUID)", {"code": "BAD_USER_INPUT", "field": "id"})


@pytest.mark.parametrize("job_id", MALFORMED_IDS)
async def test_malformed_id_is_bad_user_input_everywhere(api: Api, settings: Settings, job_id: str) -> None:
    user = new_user(settings)
    read = await api.gql(GET_JOB, {"id": job_id}, user=user)
    assert read["data"] == {"productJob": None}
    assert [(e["message"], e["extensions"]) for e in read["errors"]] == [BAD_ID]

    confirmed = await api.gql(CONFIRM, {"id": job_id, "items": ITEMS}, user=user)
    assert confirmed["data"] is None
    assert [(e["message"], e["extensions"]) for e in confirmed["errors"]] == [BAD_ID]

    async with api.ws(user=user) as ws:
        assert await ws.recv() == {"type": "connection_ack"}
        op = await ws.subscribe(WATCH_JOB, {"id": job_id})
        events = await ws.collect(op)
    assert len(events) == 1 and events[0]["data"] is None
    assert [(e["message"], e["extensions"]) for e in events[0]["errors"]] == [BAD_ID]
