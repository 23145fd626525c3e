"""The shared backoff: capped doubling delays with jitter, and the retry loop around an attempt."""

from __future__ import annotations

import asyncio
import itertools
import logging

import pytest

from app.backoff import Backoff, retry

log = logging.getLogger("tests.backoff")
NO_WAIT = Backoff(first_s=0.0, cap_s=0.0)


def test_delays_double_from_the_first_up_to_the_cap() -> None:
    delays = Backoff(first_s=0.5, cap_s=10.0).delays(rand=lambda: 0.0)
    assert list(itertools.islice(delays, 8)) == [0.5, 1.0, 2.0, 4.0, 8.0, 10.0, 10.0, 10.0]


def test_jitter_shortens_each_delay_by_at_most_its_share() -> None:
    backoff = Backoff(first_s=1.0, cap_s=4.0, jitter=0.25)
    assert list(itertools.islice(backoff.delays(rand=lambda: 1.0), 4)) == [0.75, 1.5, 3.0, 3.0]
    assert list(itertools.islice(backoff.delays(rand=lambda: 0.5), 3)) == [0.875, 1.75, 3.5]


def test_a_first_delay_above_the_cap_is_capped() -> None:
    assert next(Backoff(first_s=30.0, cap_s=5.0).delays(rand=lambda: 0.0)) == 5.0


def test_random_delays_stay_within_the_jitter_band() -> None:
    backoff = Backoff(first_s=0.1, cap_s=5.0, jitter=0.5)
    bases = [0.1, 0.2, 0.4, 0.8, 1.6, 3.2, 5.0, 5.0]
    for base, delay in zip(bases, backoff.delays(), strict=False):
        assert base * 0.5 <= delay <= base


class _Flaky:
    """An attempt failing with each of `errors` in turn, then answering `result`."""

    def __init__(self, *errors: BaseException, result: str = "ok") -> None:
        self.errors = list(errors)
        self.result = result
        self.calls = 0

    async def __call__(self) -> str:
        self.calls += 1
        if self.errors:
            raise self.errors.pop(0)
        return self.result


async def test_retry_returns_the_first_answer_after_logging_each_failure(caplog: pytest.LogCaptureFixture) -> None:
    attempt = _Flaky(OSError("refused"), ConnectionResetError("reset"))
    with caplog.at_level(logging.WARNING, logger="tests.backoff"):
        assert await retry(attempt, errors=OSError, backoff=NO_WAIT, what="test connect", log=log) == "ok"
    assert attempt.calls == 3
    assert [r.getMessage() for r in caplog.records] == [
        "test connect failed (OSError('refused')); retrying in 0.0 s",
        "test connect failed (ConnectionResetError('reset')); retrying in 0.0 s",
    ]


async def test_an_error_not_listed_propagates_at_once() -> None:
    attempt = _Flaky(ValueError("a bug, not an outage"))
    with pytest.raises(ValueError, match="a bug"):
        await retry(attempt, errors=(OSError, TimeoutError), backoff=NO_WAIT, what="test", log=log)
    assert attempt.calls == 1


async def test_a_set_stop_event_means_no_attempt() -> None:
    stop = asyncio.Event()
    stop.set()
    attempt = _Flaky()
    assert await retry(attempt, errors=OSError, backoff=NO_WAIT, what="test", log=log, stop=stop) is None
    assert attempt.calls == 0


async def test_stop_ends_the_wait_after_a_failure_without_another_attempt() -> None:
    stop = asyncio.Event()
    attempt = _Flaky(OSError("refused"))
    an_hour = Backoff(first_s=3600.0, cap_s=3600.0)
    waiting = asyncio.create_task(retry(attempt, errors=OSError, backoff=an_hour, what="test", log=log, stop=stop))
    while attempt.calls == 0:
        await asyncio.sleep(0)
    stop.set()
    assert await waiting is None
    assert attempt.calls == 1
