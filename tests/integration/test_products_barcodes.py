"""Barcode lookups against the real PostgreSQL cache (migration 0005) with a stand-in Open Food Facts.

Open Food Facts is played by httpx.MockTransport (no network in tests); the cache, the
"ask each code once" rule, the user-beats-lookup rule and the thread-to-loop bridge the
recognizer uses are exercised for real.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator

import asyncpg
import httpx
import pytest

from app.recognition.catalog import load_catalog
from app.recognition.products.off import BarcodeResolver, OpenFoodFacts, blocking_lookup, parse_product
from app.repos.barcodes import BarcodeProduct, get_barcode, put_barcode

OAT = "7394376616037"
MISSING = "4006381333931"
FAILING = "5000112637922"


@pytest.fixture
async def db(database_url: str) -> AsyncIterator[asyncpg.Pool]:
    pool = await asyncpg.create_pool(database_url, min_size=0, max_size=2)
    try:
        await pool.execute("DELETE FROM barcode_products WHERE code = ANY($1)", [OAT, MISSING, FAILING])
        yield pool
    finally:
        await pool.close()


def _off(asked: list[str]) -> httpx.AsyncClient:
    def handle(request: httpx.Request) -> httpx.Response:
        code = request.url.path.rsplit("/", 1)[-1]
        asked.append(code)
        if code == OAT:
            body = {"status": 1, "product": {"product_name": "Havredryck", "brands": "Oatly, Oatly AB"}}
            return httpx.Response(200, content=json.dumps(body))
        if code == FAILING:
            return httpx.Response(503)
        return httpx.Response(404, content=json.dumps({"status": 0, "status_verbose": "product not found"}))

    return httpx.AsyncClient(transport=httpx.MockTransport(handle), timeout=2.0)


async def test_each_code_is_asked_once_and_misses_are_cached(db: asyncpg.Pool) -> None:
    asked: list[str] = []
    async with _off(asked) as http:
        resolver = BarcodeResolver(db, load_catalog(), client=OpenFoodFacts(http))
        assert await resolver.resolve(OAT) == "oat_drink"
        assert await resolver.resolve(OAT) == "oat_drink"
        assert await resolver.resolve(MISSING) is None
        assert await resolver.resolve(MISSING) is None
    assert asked == [OAT, MISSING]
    stored = await get_barcode(db, code=OAT)
    assert stored == BarcodeProduct(OAT, "openfoodfacts", True, "Havredryck", "Oatly", "oat_drink")
    assert (await get_barcode(db, code=MISSING)).found is False  # type: ignore[union-attr]


async def test_failures_are_not_cached_and_the_lookup_is_off_without_a_client(db: asyncpg.Pool) -> None:
    asked: list[str] = []
    async with _off(asked) as http:
        resolver = BarcodeResolver(db, load_catalog(), client=OpenFoodFacts(http))
        assert await resolver.resolve(FAILING) is None
        assert await resolver.resolve(FAILING) is None
    assert asked == [FAILING, FAILING]
    assert await get_barcode(db, code=FAILING) is None
    offline = BarcodeResolver(db, load_catalog())
    assert await offline.resolve(MISSING) is None
    assert await offline.resolve("123") is None


async def test_a_users_name_for_a_code_wins_over_lookups(db: asyncpg.Pool) -> None:
    await put_barcode(db, BarcodeProduct(OAT, "user", True, "Oat milk barista", None, "oat_drink"))
    await put_barcode(db, BarcodeProduct(OAT, "openfoodfacts", True, "Havredryck", "Oatly", None))
    stored = await get_barcode(db, code=OAT)
    assert stored is not None and stored.source == "user" and stored.name == "Oat milk barista"
    assert await BarcodeResolver(db, load_catalog()).resolve(OAT) == "oat_drink"


async def test_the_recognizer_thread_resolves_through_the_event_loop(db: asyncpg.Pool) -> None:
    asked: list[str] = []
    async with _off(asked) as http:
        resolver = BarcodeResolver(db, load_catalog(), client=OpenFoodFacts(http))
        lookup = blocking_lookup(resolver, asyncio.get_running_loop(), timeout=5.0)
        assert await asyncio.to_thread(lookup, OAT) == "oat_drink"
    assert asked == [OAT]


async def test_a_slow_lookup_counts_as_unknown() -> None:
    class Slow:
        async def resolve(self, code: str) -> str | None:
            await asyncio.sleep(5)
            return "never"

    lookup = blocking_lookup(Slow(), asyncio.get_running_loop(), timeout=0.05)  # type: ignore[arg-type]
    assert await asyncio.to_thread(lookup, OAT) is None


def test_parse_product_needs_a_name() -> None:
    assert not parse_product(OAT, {"status": 1, "product": {"product_name": " "}}).found
    assert not parse_product(OAT, {"status": 0}).found
    found = parse_product(OAT, {"status": 1, "product": {"generic_name": "Oat drink", "brands": ""}})
    assert found.found and found.name == "Oat drink" and found.brand is None
