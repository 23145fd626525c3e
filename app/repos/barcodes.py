"""Products known by barcode (migration 0005): the cache behind barcode lookups, on a plain asyncpg connection."""

from __future__ import annotations

from dataclasses import dataclass

import asyncpg

_GET = "SELECT code, source, found, name, brand, catalog_key FROM barcode_products WHERE code = $1"
# A user's naming of a code wins over a lookup's, and is never replaced by one.
_PUT = """
    INSERT INTO barcode_products (code, source, found, name, brand, catalog_key)
    VALUES ($1, $2, $3, $4, $5, $6)
    ON CONFLICT (code) DO UPDATE
       SET source = excluded.source, found = excluded.found, name = excluded.name, brand = excluded.brand,
           catalog_key = excluded.catalog_key, fetched_at = now()
     WHERE barcode_products.source <> 'user' OR excluded.source = 'user'
"""


@dataclass(frozen=True, slots=True)
class BarcodeProduct:
    """What is known about one code; `found` is False for a code the lookup did not know."""

    code: str
    source: str
    found: bool
    name: str | None = None
    brand: str | None = None
    catalog_key: str | None = None


async def get_barcode(conn: asyncpg.Connection | asyncpg.Pool, *, code: str) -> BarcodeProduct | None:
    """The cached row for `code`, or None when it was never looked up or named."""
    row = await conn.fetchrow(_GET, code)
    return None if row is None else BarcodeProduct(**dict(row))


async def put_barcode(conn: asyncpg.Connection | asyncpg.Pool, product: BarcodeProduct) -> None:
    """Store or refresh a code (a lookup's answer never replaces a user's)."""
    await conn.execute(_PUT, product.code, product.source, product.found, product.name, product.brand,
                       product.catalog_key)
