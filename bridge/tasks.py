"""Stopping background tasks reliably (no project imports, so any module can use it)."""

from __future__ import annotations

import asyncio
import contextlib


async def stop_tasks(tasks: list[asyncio.Task[None]]) -> None:
    """Cancel until done: Python 3.11's ``wait_for`` can swallow a cancellation that lands
    just as its inner operation completes, and the task would then run on."""
    pending = {task for task in tasks if not task.done()}
    while pending:
        for task in pending:
            task.cancel()
        _, pending = await asyncio.wait(pending, timeout=0.5)
    for task in tasks:
        with contextlib.suppress(asyncio.CancelledError):
            task.result()
