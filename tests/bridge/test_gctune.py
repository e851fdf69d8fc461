"""The serving process's garbage collector settings (in a child process: freezing is for good)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]

PROBE = """
import asyncio, gc, json, weakref
from aiohttp import web
from bridge.gctune import settle_after_startup
class Node:
    pass
before = gc.get_threshold()
cycle = Node()
cycle.me = cycle
alive = weakref.ref(cycle)
del cycle  # unreachable garbage: collected before the freeze, never frozen
asyncio.run(settle_after_startup(web.Application()))
print(json.dumps({"before": before, "after": gc.get_threshold(), "freed": alive() is None,
                  "frozen": gc.get_freeze_count(), "young": gc.get_count()[0]}))
"""


def test_startup_objects_are_frozen_and_young_collections_are_rarer() -> None:
    result = subprocess.run(
        [sys.executable, "-c", PROBE], cwd=REPO, capture_output=True, text=True, check=True
    )
    seen = json.loads(result.stdout)
    assert seen["before"] == [700, 10, 10]  # CPython's defaults
    assert seen["after"] == [20_000, 10, 10]
    assert seen["freed"]
    assert seen["frozen"] > 10_000  # the imported modules, classes and functions
    assert seen["young"] < 100  # collected just before freezing
