"""Garbage collector settings for a serving bridge process.

CPython frees almost every object the bridge makes (payloads, rows, classifications) by
reference counting the moment it is done with it; the cyclic collector only finds reference
cycles. With its defaults it still ran about 2,400 young and 20 full collections in a 20 s
benchmark run, about 15% of the bridge's CPU, and every full collection walked every object
alive, startup's included (imported modules, pydantic schemas, compiled rules): pauses of up
to 110 ms with every webhook in flight waiting (docs/benchmarks.md, fourth session).

Once the app has started, :func:`settle_after_startup`:

- collects once and freezes what is alive (``gc.freeze``): those objects live as long as the
  process, and later collections no longer walk them;
- lets the young generation grow to ``YOUNG_THRESHOLD`` tracked objects (CPython's default is
  700) before a collection, so cycles are still found within seconds but collections are
  rare and short (under 20 ms measured).

Only ``serve`` calls it, for its own process (each worker for itself): a test process that
builds many apps must not freeze their garbage for good.
"""

from __future__ import annotations

import gc
import logging

from aiohttp import web

logger = logging.getLogger(__name__)

YOUNG_THRESHOLD = 20_000


async def settle_after_startup(app: web.Application) -> None:
    """An ``on_startup`` handler, appended after the cleanup contexts have run."""
    gc.collect()
    gc.freeze()
    _, middle, old = gc.get_threshold()
    gc.set_threshold(YOUNG_THRESHOLD, middle, old)
    logger.info(
        "garbage collector: %d startup objects frozen, young generation collected every %d",
        gc.get_freeze_count(),
        YOUNG_THRESHOLD,
    )
