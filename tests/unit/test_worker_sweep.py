"""The worker's sweep loop outlives a database error: a pooled connection that died with a restarted
PostgreSQL fails one sweep, and the next interval sweeps again (the worker does not stop)."""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any

import asyncpg
import pytest

from app import worker as worker_module
from app.services.sweep import SweepReport
from app.settings import Settings


@pytest.mark.parametrize("error", [
    asyncpg.InterfaceError("connection is closed"),
    # a pooled connection that reopened as the server went down
    asyncpg.InternalClientError("cannot switch to state 12; another operation (2) is in progress"),
], ids=["closed", "reopened-mid-shutdown"])
async def test_a_sweep_that_fails_on_the_database_is_retried_at_the_next_interval(
    monkeypatch: pytest.MonkeyPatch, error: Exception,
) -> None:
    calls = 0
    swept = asyncio.Event()

    async def sweep_once(**_: Any) -> SweepReport:
        nonlocal calls
        calls += 1
        if calls == 1:
            raise error
        swept.set()
        await asyncio.Event().wait()  # hold the second sweep until the test cancels the loop
        return SweepReport()

    monkeypatch.setattr(worker_module, "sweep_once", sweep_once)
    worker = worker_module.Worker(Settings(app_env="test", worker_sweep_interval_s=0.01))
    task = asyncio.create_task(worker._sweep(None, None))  # type: ignore[arg-type]
    await asyncio.wait_for(swept.wait(), 10)
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task
    assert calls == 2  # the failed sweep did not end the loop: the next interval swept again
