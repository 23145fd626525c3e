"""JwksCache: keys fetched once and cached, refreshed when stale, and on an unknown kid at most once per interval."""

from __future__ import annotations

import asyncio
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import ec

from app.security.jwks import JwksCache


def _jwk(kid: str, alg: str = "ES256", **extra: Any) -> dict[str, Any]:
    key = ec.generate_private_key(ec.SECP256R1()).public_key()
    return {**jwt.algorithms.ECAlgorithm.to_jwk(key, as_dict=True), "kid": kid, "alg": alg, "use": "sig", **extra}


class FakeIdp:
    def __init__(self, *keys: dict[str, Any]) -> None:
        self.keys = list(keys)
        self.fetches = 0
        self.fail = False
        self.delay = 0.0

    async def fetch(self) -> dict[str, Any]:
        self.fetches += 1
        if self.delay:
            await asyncio.sleep(self.delay)
        if self.fail:
            raise ValueError("the identity provider is down")
        return {"keys": list(self.keys)}


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def _cache(idp: FakeIdp, clock: Clock, refresh_s: float = 10) -> JwksCache:
    return JwksCache("https://idp.example/jwks.json", algorithm="ES256", ttl_s=600, refresh_s=refresh_s,
                     fetch=idp.fetch, clock=clock)


async def test_keys_are_fetched_once_then_served_from_the_cache() -> None:
    idp, clock = FakeIdp(_jwk("a")), Clock()
    cache = _cache(idp, clock)
    for _ in range(10):
        await cache.ensure("a")
        assert cache.get("a") is not None
    assert idp.fetches == 1


async def test_stale_keys_are_refetched_after_the_ttl() -> None:
    idp, clock = FakeIdp(_jwk("a")), Clock()
    cache = _cache(idp, clock)
    await cache.ensure("a")
    clock.now += 599
    await cache.ensure("a")
    assert idp.fetches == 1
    clock.now += 2
    await cache.ensure("a")
    assert idp.fetches == 2


async def test_unknown_kid_refreshes_at_most_once_per_interval() -> None:
    idp, clock = FakeIdp(_jwk("a")), Clock()
    cache = _cache(idp, clock, refresh_s=10)
    await cache.ensure("a")
    idp.keys.append(_jwk("b"))  # rotation
    await cache.ensure("b")
    assert (idp.fetches, cache.get("b") is not None) == (2, True)
    for kid in ("x", "y", "z", "b2"):  # made-up kids right after: no fetch
        await cache.ensure(kid)
        assert cache.get(kid) is None
    assert idp.fetches == 2
    clock.now += 10
    await cache.ensure("x")
    assert idp.fetches == 3


async def test_concurrent_requests_for_a_new_kid_share_one_fetch() -> None:
    idp, clock = FakeIdp(_jwk("a")), Clock()
    idp.delay = 0.05
    cache = _cache(idp, clock)
    await asyncio.gather(*(cache.ensure("a") for _ in range(20)))
    assert idp.fetches == 1


async def test_a_failed_fetch_keeps_the_keys_already_known() -> None:
    idp, clock = FakeIdp(_jwk("a")), Clock()
    cache = _cache(idp, clock)
    await cache.ensure("a")
    idp.fail = True
    clock.now += 601
    await cache.ensure("a")
    assert idp.fetches == 2 and cache.get("a") is not None


@pytest.mark.parametrize(
    "entry",
    [_jwk("enc", use="enc"), _jwk("rs", alg="RS256"), {"kid": "junk", "kty": "EC", "crv": "P-256", "x": "AA"},
     {"kid": "oct", "kty": "oct", "k": "c2VjcmV0"}],
    ids=["encryption-key", "other-algorithm", "broken", "symmetric"],
)
async def test_keys_that_cannot_verify_our_algorithm_are_skipped(entry: dict[str, Any]) -> None:
    idp, clock = FakeIdp(_jwk("good"), entry), Clock()
    cache = _cache(idp, clock)
    await cache.ensure("good")
    assert cache.get("good") is not None
    assert cache.get(entry["kid"]) is None
