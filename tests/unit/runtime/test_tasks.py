"""Stopping background tasks: a lost cancellation or a task that never ends cannot hang a shutdown."""

from __future__ import annotations

import asyncio
import logging
import time

import pytest

from switchyard.runtime.tasks import cancel_and_wait


async def test_a_task_that_loses_a_cancellation_is_cancelled_again_until_it_ends() -> None:
    swallowed = 0

    async def retry_loop() -> None:
        # What a Redis follow loop does when redis-py turns a cancellation into a TimeoutError.
        nonlocal swallowed
        while True:
            try:
                await asyncio.sleep(3600)
            except asyncio.CancelledError:
                if swallowed:
                    raise
                swallowed += 1
                asyncio.current_task().uncancel()  # type: ignore[union-attr]

    task = asyncio.create_task(retry_loop())
    await asyncio.sleep(0)
    started = time.monotonic()
    await cancel_and_wait([task], timeout=5)
    assert task.cancelled() and swallowed == 1
    assert time.monotonic() - started < 1


async def test_a_task_that_never_ends_is_left_behind_after_the_timeout(caplog: pytest.LogCaptureFixture) -> None:
    stop = asyncio.Event()

    async def stubborn() -> None:
        while not stop.is_set():
            try:
                await asyncio.sleep(3600)
            except asyncio.CancelledError:
                asyncio.current_task().uncancel()  # type: ignore[union-attr]

    task = asyncio.create_task(stubborn(), name="stubborn")
    await asyncio.sleep(0)
    started = time.monotonic()
    with caplog.at_level(logging.WARNING):
        await cancel_and_wait([task], timeout=0.3)
    assert 0.3 <= time.monotonic() - started < 2
    assert "did not stop within 0.3s: stubborn" in caplog.text
    stop.set()
    task.cancel()
    await asyncio.wait({task}, timeout=1)
    assert task.done()


async def test_finished_tasks_cost_nothing() -> None:
    done = asyncio.create_task(asyncio.sleep(0))
    await done
    started = time.monotonic()
    await cancel_and_wait([done], timeout=5)
    assert time.monotonic() - started < 0.05
