"""The upload flood of issue 14 against a real API process with the default limits.

32 maximum-size multipart submits from user A and 8 maximum-size base64 JSON submits from
user B, all at once, while user C queries `{ me { id } }` in a loop (bench/flood.py).
Asserted: the API's peak RSS stays under BODY_BUDGET_BYTES + 256 MiB; every submit is
answered, accepted or refused with a named code and Retry-After; exactly the accepted ones
are stored and counted; C is answered right every time. Latency is the benchmark's
(bench/s7_flood.py), not this test's.
"""

from __future__ import annotations

import uuid

import asyncpg
import pytest

from bench.flood import MIB, flood
from tests.integration.security_helpers import api_with
from tests.support import new_user

REFUSALS = {(429, "TOO_MANY_UPLOADS"), (503, "SERVER_BUSY")}


async def _stored(db: asyncpg.Connection, user_id: uuid.UUID) -> tuple[set[str], int, int]:
    jobs = {str(r["id"]) for r in await db.fetch("SELECT id FROM product_recognition_jobs WHERE user_id = $1",
                                                 user_id)}
    images = await db.fetchval("SELECT count(*) FROM product_recognition_job_images i JOIN product_recognition_jobs j"
                               " ON j.id = i.job_id WHERE j.user_id = $1", user_id)
    counted = await db.fetchval("SELECT coalesce(sum(count), 0) FROM quota_counters WHERE user_id = $1"
                                " AND window_kind = 'day'", user_id)
    return jobs, images, counted


@pytest.mark.slow
async def test_a_flood_of_maximum_size_uploads_stays_within_the_budget(
    database_url: str, kafka_bootstrap: str, db: asyncpg.Connection, tmp_path_factory: pytest.TempPathFactory
) -> None:
    async with api_with(database_url, kafka_bootstrap, tmp_path_factory.mktemp("flood"), "flood-api") as stack:
        settings = stack.settings
        a, b, c = (new_user(settings) for _ in range(3))
        tokens = {"a": a.token, "b": b.token, "me": c.token}
        result = await flood(stack.api.base_url, stack.child.proc.pid, settings, tokens, str(c.id))
    budget_plus = settings.body_budget_bytes + 256 * MIB
    print(f"flood: {result.by_code()} in {result.seconds:.1f} s; API RSS {result.rss_before / MIB:.0f} ->"
          f" {result.rss_peak / MIB:.0f} MiB (bound {budget_plus / MIB:.0f}); {len(result.me_ms)} me queries")
    assert result.rss_peak < budget_plus
    assert [o for o in result.outcomes if not o.job_id and ((o.status, o.code) not in REFUSALS
                                                            or o.retry_after != "1")] == []
    accepted = {name: {o.job_id for o in result.outcomes if o.user == name and o.job_id} for name in ("a", "b")}
    assert accepted["a"] or accepted["b"]  # the budget admits the first upload whole: it is stored
    # at most MAX_UPLOADS_PER_USER of a user's uploads are in flight, so most of A's 32 are refused at once
    assert sum(1 for o in result.outcomes if o.user == "a" and o.code == "TOO_MANY_UPLOADS") >= 32 // 2
    for name, user, images in (("a", a, settings.max_images_per_job), ("b", b, 3)):
        assert await _stored(db, user.id) == (accepted[name], images * len(accepted[name]), len(accepted[name]))
    assert result.me_failures == []
    assert result.me_ms  # C was served throughout
