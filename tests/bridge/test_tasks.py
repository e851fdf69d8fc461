"""stop_tasks: a task that swallows a cancellation is cancelled again until it ends."""

from __future__ import annotations

import asyncio
import contextlib

import pytest

from bridge.tasks import stop_tasks


async def test_a_task_that_swallows_one_cancellation_still_stops() -> None:
    swallowed = 0

    async def stubborn() -> None:
        nonlocal swallowed
        while True:
            try:
                await asyncio.sleep(10)
            except asyncio.CancelledError:
                if swallowed:
                    raise
                swallowed += 1  # what a raced wait_for does on Python 3.11

    task = asyncio.create_task(stubborn())
    await asyncio.sleep(0)
    async with asyncio.timeout(5):
        await stop_tasks([task])
    assert task.cancelled()
    assert swallowed == 1


async def test_a_failed_task_is_reported() -> None:
    async def broken() -> None:
        raise RuntimeError("boom")

    task = asyncio.create_task(broken())
    with contextlib.suppress(RuntimeError):
        await task
    with pytest.raises(RuntimeError, match="boom"):
        await stop_tasks([task])
