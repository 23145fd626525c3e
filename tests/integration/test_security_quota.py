"""Submission quotas per plan, counted in PostgreSQL so that several API processes agree."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack
from typing import Any

import asyncpg
import pytest

from tests.conftest import make_settings
from tests.integration.security_helpers import Stack, api_with
from tests.support import Api, User, b64, new_user, scripted_image

FREE_PER_MINUTE, PAID_PER_DAY = 5, 6
SUBMIT_WITH_KEY = (
    "mutation($images: [ImageInput!]!, $key: String) { submitReceipt(images: $images, idempotencyKey: $key) { id } }"
)


@pytest.fixture(scope="module")
async def two_apis(database_url: str, kafka_bootstrap: str, tmp_path_factory: pytest.TempPathFactory
                   ) -> AsyncIterator[tuple[Stack, Stack]]:
    """Two API processes of the same settings (same database, same topics), as behind a load balancer."""
    settings = make_settings(
        database_url, kafka_bootstrap, quota_free_per_minute=FREE_PER_MINUTE, quota_free_per_day=1000,
        quota_paid_per_minute=1000, quota_paid_per_day=PAID_PER_DAY,
    )
    log_dir = tmp_path_factory.mktemp("quota")
    async with AsyncExitStack() as stack:
        first, second = await asyncio.gather(
            stack.enter_async_context(api_with(database_url, kafka_bootstrap, log_dir, "quota-api-1", settings)),
            stack.enter_async_context(api_with(database_url, kafka_bootstrap, log_dir, "quota-api-2", settings)),
        )
        yield first, second


async def _submit(api: Api, user: User, key: str | None = None) -> dict[str, Any]:
    image = {"base64": b64(scripted_image(f"ITEM {uuid.uuid4().hex[:6]}*1*pcs*1"))}
    return await api.gql(SUBMIT_WITH_KEY, {"images": [image], "key": key}, user=user)


async def _counts(db: asyncpg.Connection, user: User) -> tuple[int, int, int]:
    row = await db.fetchrow(
        "SELECT (SELECT count(*) FROM product_recognition_jobs WHERE user_id = $1) AS jobs,"
        " (SELECT count(*) FROM product_recognition_job_images i JOIN product_recognition_jobs j ON j.id = i.job_id"
        "   WHERE j.user_id = $1) AS images,"
        " (SELECT coalesce(sum(count), 0) FROM quota_counters WHERE user_id = $1 AND window_kind = 'minute') AS q",
        user.id,
    )
    assert row is not None
    return row["jobs"], row["images"], row["q"]


async def _same_minute(db: asyncpg.Connection) -> None:
    """Start a minute-window race well inside one database minute (a race across the boundary counts twice)."""
    second = float(await db.fetchval("SELECT extract(second FROM clock_timestamp())"))
    if second > 50:
        await asyncio.sleep(60.5 - second)


async def test_free_quota_raced_through_two_api_processes_admits_exactly_the_limit(
    two_apis: tuple[Stack, Stack], db: asyncpg.Connection
) -> None:
    first, second = two_apis
    user = new_user(first.settings, plan="free")
    await _same_minute(db)
    bodies = await asyncio.gather(*(_submit((first, second)[i % 2].api, user) for i in range(24)))
    accepted = [b for b in bodies if "errors" not in b]
    refused = [b for b in bodies if "errors" in b]
    assert len(accepted) == FREE_PER_MINUTE
    assert len(refused) == 24 - FREE_PER_MINUTE
    for body in refused:
        assert body["data"] is None
        [error] = body["errors"]
        extensions = error["extensions"]
        retry = extensions.pop("retryAfterSeconds")
        assert 1 <= retry <= 60
        assert extensions == {"code": "QUOTA_EXCEEDED", "limit": FREE_PER_MINUTE, "window": "minute", "plan": "free"}
        assert error["message"] == (
            f"the free plan allows {FREE_PER_MINUTE} submissions per minute; try again in {retry} s"
        )
    # refused submissions stored nothing, not even their count
    assert await _counts(db, user) == (FREE_PER_MINUTE, FREE_PER_MINUTE, FREE_PER_MINUTE)


async def test_paid_plan_has_its_own_higher_limits_and_the_day_window(
    two_apis: tuple[Stack, Stack], db: asyncpg.Connection
) -> None:
    first, second = two_apis
    user = new_user(first.settings, plan="paid")
    for i in range(PAID_PER_DAY):
        body = await _submit((first, second)[i % 2].api, user)
        assert "errors" not in body, body
    assert PAID_PER_DAY > FREE_PER_MINUTE  # more than a free user may send in a minute
    body = await _submit(second.api, user)
    [error] = body["errors"]
    assert error["extensions"]["code"] == "QUOTA_EXCEEDED"
    assert (error["extensions"]["window"], error["extensions"]["limit"]) == ("day", PAID_PER_DAY)
    assert 1 <= error["extensions"]["retryAfterSeconds"] <= 86_400
    assert (await _counts(db, user))[:2] == (PAID_PER_DAY, PAID_PER_DAY)


async def test_a_retried_idempotency_key_costs_no_quota(two_apis: tuple[Stack, Stack], db: asyncpg.Connection
                                                        ) -> None:
    first, second = two_apis
    user = new_user(first.settings, plan="free")
    await _same_minute(db)
    job = (await _submit(first.api, user, key="once"))["data"]["submitReceipt"]["id"]
    for _ in range(FREE_PER_MINUTE + 2):  # retries, from both processes
        assert (await _submit(second.api, user, key="once")) == {"data": {"submitReceipt": {"id": job}}}
    for _ in range(FREE_PER_MINUTE - 1):
        assert "errors" not in await _submit(first.api, user)
    assert (await _submit(first.api, user))["errors"][0]["extensions"]["code"] == "QUOTA_EXCEEDED"
    # the first job is still answered for its key after the quota is spent
    assert (await _submit(second.api, user, key="once")) == {"data": {"submitReceipt": {"id": job}}}
    assert await _counts(db, user) == (FREE_PER_MINUTE, FREE_PER_MINUTE, FREE_PER_MINUTE)


async def test_another_users_quota_is_untouched(two_apis: tuple[Stack, Stack]) -> None:
    first, _ = two_apis
    spent, fresh = new_user(first.settings), new_user(first.settings)
    await asyncio.gather(*(_submit(first.api, spent) for _ in range(FREE_PER_MINUTE + 1)))
    assert "errors" not in await _submit(first.api, fresh)


async def test_the_same_key_from_another_user_is_their_own_job(two_apis: tuple[Stack, Stack]) -> None:
    first, second = two_apis
    alice, bob = new_user(first.settings), new_user(first.settings)
    a = (await _submit(first.api, alice, key="shared-key"))["data"]["submitReceipt"]["id"]
    b = (await _submit(second.api, bob, key="shared-key"))["data"]["submitReceipt"]["id"]
    assert a != b
    assert (await _submit(second.api, alice, key="shared-key"))["data"]["submitReceipt"]["id"] == a
