"""Retrying a connect or a read while its server is away: capped exponential backoff with jitter.

Every reconnect loop of the service waits this way (the LISTEN connections of the API and the
worker, the Kafka producer and consumer, the watched-job re-reads): the first delay, then twice
as long after each failure up to a cap, each delay shortened at random by up to `jitter` so
that processes which lost the same server do not all come back in step. Each failure is logged
with the delay that follows it; a stop event, when given, ends the waiting at once.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass
from typing import TypeVar, overload

T = TypeVar("T")
Errors = type[BaseException] | tuple[type[BaseException], ...]


@dataclass(frozen=True, slots=True)
class Backoff:
    """Delays of `first_s`, doubling after each failure, never above `cap_s`, less up to `jitter` of each."""

    first_s: float
    cap_s: float
    jitter: float = 0.25

    def delays(self, rand: Callable[[], float] = random.random) -> Iterator[float]:
        """The endless sequence of waits: base * (1 - jitter * rand()), base doubling up to cap_s."""
        base = min(self.first_s, self.cap_s)
        while True:
            yield base * (1.0 - self.jitter * rand())
            base = min(self.cap_s, base * 2)


@overload
async def retry(attempt: Callable[[], Awaitable[T]], *, errors: Errors, backoff: Backoff, what: str,
                log: logging.Logger, stop: None = None) -> T: ...


@overload
async def retry(attempt: Callable[[], Awaitable[T]], *, errors: Errors, backoff: Backoff, what: str,
                log: logging.Logger, stop: asyncio.Event) -> T | None: ...


async def retry(attempt: Callable[[], Awaitable[T]], *, errors: Errors, backoff: Backoff, what: str,
                log: logging.Logger, stop: asyncio.Event | None = None) -> T | None:
    """`attempt()`'s result, calling it again after each failure in `errors` (logged as "<what> failed").

    Any other exception propagates at once. With `stop`, returns None as soon as it is set,
    before an attempt or during a wait, so a shutdown never waits out a delay.
    """
    delays: Iterator[float] | None = None  # made on the first failure: most calls succeed at once
    while stop is None or not stop.is_set():
        try:
            return await attempt()
        except errors as exc:
            delays = delays or backoff.delays()
            delay = next(delays)
            log.warning("%s failed (%r); retrying in %.1f s", what, exc, delay)
        await _pause(delay, stop)
    return None


async def _pause(delay: float, stop: asyncio.Event | None) -> None:
    if stop is None:
        await asyncio.sleep(delay)
        return
    with contextlib.suppress(TimeoutError):
        async with asyncio.timeout(delay):
            await stop.wait()
