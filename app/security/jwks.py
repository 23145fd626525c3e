"""The signing keys of a JWKS URL: fetched asynchronously, cached, refreshed on an unknown `kid`.

An unknown `kid` triggers at most one refresh per `refresh_s` (so a flood of made-up key
ids cannot turn into a flood of fetches), and concurrent requests share one fetch.
Verification stays synchronous: `ensure(kid)` runs before it, `get(kid)` reads the cache.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from typing import Any

import httpx
import jwt

log = logging.getLogger("foodai.auth")

Fetch = Callable[[], Awaitable[dict[str, Any]]]


class JwksCache:
    """Keys by `kid` (a key without a `kid` is used for tokens without one)."""

    def __init__(
        self,
        url: str,
        *,
        algorithm: str,
        ttl_s: float,
        refresh_s: float,
        timeout_s: float = 5.0,
        fetch: Fetch | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.url = url
        self.algorithm = algorithm
        self.ttl_s = ttl_s
        self.refresh_s = refresh_s
        self.timeout_s = timeout_s
        self._fetch = fetch or self._http_fetch
        self._clock = clock
        self._keys: dict[str | None, Any] = {}
        self._fetched_at: float | None = None
        self._last_forced: float | None = None
        self._lock = asyncio.Lock()
        self.fetches = 0

    def get(self, kid: str | None) -> Any | None:
        """The cached key for this kid, or None."""
        return self._keys.get(kid)

    async def ensure(self, kid: str | None) -> None:
        """Fetch when the cache is empty or stale, or (rate-limited) when `kid` is unknown."""
        async with self._lock:
            now = self._clock()
            stale = self._fetched_at is None or now - self._fetched_at >= self.ttl_s
            unknown = kid not in self._keys
            may_force = self._last_forced is None or now - self._last_forced >= self.refresh_s
            if stale or (unknown and may_force):
                if unknown and not stale:
                    self._last_forced = now
                await self._refresh(now)

    async def _refresh(self, now: float) -> None:
        try:
            document = await self._fetch()
            self._keys = _parse(document, self.algorithm)
        except (httpx.HTTPError, ValueError, TypeError, jwt.PyJWTError) as exc:
            log.warning("could not fetch the JWKS at %s: %s", self.url, exc)
            return  # keep the keys we had; the next request tries again
        finally:
            self.fetches += 1
        self._fetched_at = now

    async def _http_fetch(self) -> dict[str, Any]:
        async with httpx.AsyncClient(timeout=self.timeout_s, follow_redirects=False) as client:
            response = await client.get(self.url, headers={"Accept": "application/json"})
            response.raise_for_status()
            document: dict[str, Any] = response.json()
            return document


def _parse(document: dict[str, Any], algorithm: str) -> dict[str | None, Any]:
    """Signature keys of the configured algorithm by kid; others (encryption, other algorithms) are skipped."""
    keys: dict[str | None, Any] = {}
    for entry in document.get("keys", []):
        if not isinstance(entry, dict) or entry.get("use", "sig") != "sig" or entry.get("alg", algorithm) != algorithm:
            continue
        try:
            keys[entry.get("kid")] = jwt.PyJWK(entry, algorithm=algorithm)
        except jwt.PyJWTError as exc:
            log.info("skipping a JWKS key (%s): %s", entry.get("kid"), exc)
    return keys
