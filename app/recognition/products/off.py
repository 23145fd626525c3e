"""Barcode -> product: the bundled table, the PostgreSQL cache, and an optional Open Food Facts lookup.

The lookup is off unless the service is configured for it (a `client` is passed). Each
code is asked once: answers, "not found" included, are cached in `barcode_products`, and
a failed request (timeout, 5xx) is not cached, so a later photo may try again. The
recognizer runs in a thread pool while the database pool and HTTP client belong to the
event loop: `blocking_lookup` bridges the two with `run_coroutine_threadsafe` and a
deadline, and a lookup that misses the deadline counts as unknown (the image model answers).
"""

from __future__ import annotations

import asyncio
import logging
from concurrent.futures import TimeoutError as FutureTimeout
from typing import Any

import asyncpg
import httpx

from app.recognition.catalog import Catalog
from app.recognition.products.barcode import bundled_codes, check_digit_ok
from app.recognition.products.recognize import Lookup
from app.repos.barcodes import BarcodeProduct, get_barcode, put_barcode

log = logging.getLogger(__name__)

OFF_URL = "https://world.openfoodfacts.org/api/v2/product/{code}"
OFF_FIELDS = "product_name,generic_name,brands,categories_tags"
USER_AGENT = "foodai/0.1 (pantry app; barcode lookup)"
DEFAULT_TIMEOUT_S = 3.0


class OpenFoodFacts:
    """A minimal Open Food Facts product client; the caller owns the httpx.AsyncClient and its timeouts."""

    def __init__(self, http: httpx.AsyncClient, *, url: str = OFF_URL) -> None:
        self._http = http
        self._url = url

    async def product(self, code: str) -> BarcodeProduct:
        """The product for `code` (found=False when OFF does not know it); raises httpx.HTTPError on failure."""
        response = await self._http.get(self._url.format(code=code), params={"fields": OFF_FIELDS},
                                        headers={"User-Agent": USER_AGENT})
        if response.status_code == httpx.codes.NOT_FOUND:
            return BarcodeProduct(code, "openfoodfacts", found=False)
        response.raise_for_status()
        return parse_product(code, response.json())


def parse_product(code: str, body: dict[str, Any]) -> BarcodeProduct:
    """An OFF v2 product answer as a cache row; found only when it has a name."""
    product = body.get("product") if body.get("status") in (1, "1", "success_with_warnings") else None
    name = ((product or {}).get("product_name") or (product or {}).get("generic_name") or "").strip()
    brand = ((product or {}).get("brands") or "").split(",")[0].strip() or None
    if not name:
        return BarcodeProduct(code, "openfoodfacts", found=False)
    return BarcodeProduct(code, "openfoodfacts", found=True, name=name[:200], brand=brand)


class BarcodeResolver:
    """Resolves a code to a catalog key or product name: bundled table, then cache, then (if enabled) OFF."""

    def __init__(self, pool: asyncpg.Pool, catalog: Catalog, *, client: OpenFoodFacts | None = None) -> None:
        self._pool = pool
        self._catalog = catalog
        self._client = client

    async def resolve(self, code: str) -> str | None:
        """The catalog key (or, failing that, the product's name) for `code`, None when unknown."""
        if not check_digit_ok(code):
            return None
        known = bundled_codes().get(code)
        if known:
            return known
        cached = await get_barcode(self._pool, code=code)
        if cached is None and self._client is not None:
            cached = await self._fetch(code)
        if cached is None or not cached.found:
            return None
        return cached.catalog_key or cached.name

    async def _fetch(self, code: str) -> BarcodeProduct | None:
        try:
            product = await self._client.product(code) if self._client else None
        except httpx.HTTPError as exc:
            log.warning("barcode lookup failed for %s: %s", code, exc)
            return None
        if product is None:
            return None
        if product.found and product.name:
            match = self._catalog.match(product.name)
            product = BarcodeProduct(code, product.source, True, product.name, product.brand,
                                     match.item.key if match else None)
        await put_barcode(self._pool, product)
        return product


def blocking_lookup(resolver: BarcodeResolver, loop: asyncio.AbstractEventLoop, *,
                    timeout: float = DEFAULT_TIMEOUT_S) -> Lookup:
    """A Lookup for `recognize_products` that runs `resolver.resolve` on `loop` from a worker thread."""

    def lookup(code: str) -> str | None:
        future = asyncio.run_coroutine_threadsafe(resolver.resolve(code), loop)
        try:
            return future.result(timeout)
        except FutureTimeout:
            future.cancel()
            log.warning("barcode lookup for %s took longer than %.1f s", code, timeout)
            return None

    return lookup
