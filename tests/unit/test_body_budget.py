"""BodyBudget and UploadsInFlight: the counters behind the body admission (app/security/body_budget.py)."""

from __future__ import annotations

import asyncio
import uuid

import pytest

from app.security.body_budget import BodyBudget, UploadsInFlight, body_cost


def test_costs_per_byte_follow_the_measured_memory() -> None:
    assert body_cost(4 * 1024, multipart=False) == 22 * 1024  # JSON: 5.5 x
    assert body_cost(4 * 1024, multipart=True) == 9 * 1024  # multipart: 2.25 x


def test_large_bodies_leave_the_small_reserve_free() -> None:
    budget = BodyBudget(100, small_reserve=20)
    assert budget.large_share == 80
    assert budget.try_take(80, large=True)
    assert not budget.try_take(1, large=True)
    assert budget.try_take(20, large=False)  # a query still fits
    assert not budget.try_take(1, large=False)
    budget.release(80)
    budget.release(20)
    assert (budget.used, budget.peak) == (0, 100)


async def test_a_waiter_is_granted_when_room_is_released() -> None:
    budget = BodyBudget(100, small_reserve=0)
    assert budget.try_take(70, large=True)
    waiting = asyncio.create_task(budget.take(50, large=True, wait_s=60))
    await asyncio.sleep(0)  # the waiter is queued
    assert not waiting.done()
    budget.release(70)
    assert await waiting is True
    assert budget.used == 50


async def test_a_waiter_gives_up_after_its_wait_and_takes_nothing() -> None:
    budget = BodyBudget(100, small_reserve=0)
    assert budget.try_take(70, large=True)
    assert await budget.take(50, large=True, wait_s=0.01) is False
    assert await budget.take(50, large=True, wait_s=0) is False
    budget.release(70)
    assert budget.used == 0 and not budget._waiters


async def test_a_cancelled_waiter_takes_nothing_even_when_granted_as_it_is_cancelled() -> None:
    budget = BodyBudget(100, small_reserve=0)
    assert budget.try_take(70, large=True)
    waiting = asyncio.create_task(budget.take(50, large=True, wait_s=60))
    await asyncio.sleep(0)
    budget.release(70)  # granted ...
    waiting.cancel()  # ... and cancelled before it ran again
    with pytest.raises(asyncio.CancelledError):
        await waiting
    assert budget.used == 0


def test_uploads_in_flight_are_counted_per_user() -> None:
    in_flight = UploadsInFlight(per_user=2)
    alice, bob = uuid.uuid4(), uuid.uuid4()
    assert in_flight.try_enter(alice) and in_flight.try_enter(alice)
    assert not in_flight.try_enter(alice)
    assert in_flight.try_enter(bob)
    in_flight.leave(alice)
    assert in_flight.try_enter(alice)
    for user in (alice, alice, bob):
        in_flight.leave(user)
    assert not in_flight._counts
