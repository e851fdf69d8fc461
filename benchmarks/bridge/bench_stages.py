"""CPU per alert of the pipeline's Python work, stage by stage, without the network.

The end-to-end webhook benchmark on a two-core machine moves by ±10% from run to run with
the machine's background, which hides changes of a few percent. This one times the bridge's
own code alone, on the same payload mix as the load generator: passes of ``--pass-size``
deliveries (new groups of 10 alerts) are recorded in a temporary SQLite store, then, per pass,

- ``classify``: the stage: one history query per pass to the store (SQLite here, its
  thread's CPU counted) and the classification engine for every new alert,
- ``dedupe``: the in-process similarity index (the Redis index runs the same scoring in Lua),
- ``dedupe_full``: the same, with the index already holding ``max_primaries`` primaries, so
  every new primary drops the least recently seen one (a long-running bridge on SQLite),
- ``plan``: the lifecycle write's plan for the pass (rows, timeline, events, compliance),
  frozen into the store's write,
- ``encode``: the PostgreSQL statement's arguments for it (what asyncpg then sends).

It reports the median over ``--rounds`` rounds of microseconds of process CPU per new alert::

    .venv/bin/python -m benchmarks.bridge.bench_stages --passes 40 --rounds 5
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import statistics
import tempfile
import time
from collections.abc import Awaitable, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar

from benchmarks.bridge.loadgen import PayloadMix
from bridge.alertmanager import parse_payload, to_delivery
from bridge.classify import ClassificationEngine
from bridge.config import BridgeConfig
from bridge.dedupe import DedupeCandidate, DedupeConfig, InMemoryDedupeIndex
from bridge.gctune import YOUNG_THRESHOLD
from bridge.metrics import BridgeMetrics
from bridge.pipeline import Batch
from bridge.pipeline.classify import Classify
from bridge.pipeline.dedupe import Dedupe
from bridge.pipeline.lifecycle import processing_write
from bridge.store import AlertStore, open_store, postgres_lifecycle
from bridge.store.records import PreparedWrite, ProcessingWrite

T = TypeVar("T")
RECEIVED = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)


async def stored_passes(store: AlertStore, passes: int, pass_size: int) -> list[list[Batch]]:
    mix = PayloadMix(alerts_per_payload=10, duplicate_ratio=0.0, seed=20260105)
    out = []
    for _ in range(passes):
        batches = []
        for _ in range(pass_size):
            _, body, _ = mix.next()
            delivery = to_delivery(parse_payload(body), body, received_at=RECEIVED)
            batches.append(Batch(delivery, await store.record_delivery(delivery)))
        out.append(batches)
    return out


async def timed(step: Awaitable[T], alerts: int) -> tuple[T, float]:
    """The step's result and the process CPU it took, in microseconds per alert."""
    started = time.process_time()
    result = await step
    return result, 1e6 * (time.process_time() - started) / alerts


async def classify_all(classify: Classify, passes: list[list[Batch]]) -> list[list[Batch]]:
    return [await classify.process_many(p) for p in passes]


async def dedupe_all(dedupe: Dedupe, passes: list[list[Batch]]) -> list[list[Batch]]:
    return [await dedupe.process_many(p) for p in passes]


async def full_index(config: DedupeConfig) -> InMemoryDedupeIndex:
    """An index holding ``max_primaries`` primaries that none of the benchmark's alerts
    match (ids far above theirs, assets and rules of their own), all within the window, after
    half as many again have been dropped to make room: the state of an index that has been
    full for a while."""
    index = InMemoryDedupeIndex()
    for n in range(config.max_primaries * 3 // 2):
        candidate = DedupeCandidate(
            alert_id=10_000_000 + n, fingerprint=f"filler-{n}", asset_id=f"filler-asset-{n}",
            event_type=f"filler_rule_{n % 97}", severity="low", source="filler",
            title=f"filler {n}", seen_at=RECEIVED,
        )  # fmt: skip
        await index.match_or_add(candidate, config)
    return index


async def plan_all(passes: Sequence[Sequence[Batch]]) -> list[ProcessingWrite]:
    return [processing_write(batches) for batches in passes]


async def encode_all(writes: list[ProcessingWrite]) -> list[PreparedWrite]:
    return [postgres_lifecycle.prepare_processing(w) for w in writes]


async def measure(passes: int, pass_size: int, rounds: int) -> dict[str, Any]:
    samples: dict[str, list[float]] = {
        "classify": [], "dedupe": [], "dedupe_full": [], "plan": [], "encode": []
    }  # fmt: skip
    with tempfile.TemporaryDirectory() as directory:
        url = f"sqlite:///{Path(directory) / 'bench.db'}"
        config = BridgeConfig(database_url=url, webhook_token="w" * 16, api_token="a" * 16)
        store = await open_store(url)
        try:
            raw = await stored_passes(store, passes, pass_size)
            alerts = sum(len(b.created) for p in raw for b in p)
            classify = Classify(ClassificationEngine(config.classification), lambda: store)
            for _ in range(rounds):
                dedupe = Dedupe(InMemoryDedupeIndex(), config.dedupe, BridgeMetrics())
                classified, us = await timed(classify_all(classify, raw), alerts)
                samples["classify"].append(us)
                decided, us = await timed(dedupe_all(dedupe, classified), alerts)
                samples["dedupe"].append(us)
                full = Dedupe(await full_index(config.dedupe), config.dedupe, BridgeMetrics())
                _, us = await timed(dedupe_all(full, classified), alerts)
                samples["dedupe_full"].append(us)
                del full  # its 75,000 entries would slow the collector in the later steps
                writes, us = await timed(plan_all(decided), alerts)
                samples["plan"].append(us)
                _, us = await timed(encode_all(writes), alerts)
                samples["encode"].append(us)
        finally:
            await store.close()
    medians = {step: round(statistics.median(values), 1) for step, values in samples.items()}
    return {
        "passes": passes,
        "pass_size": pass_size,
        "new_alerts": alerts,
        "rounds": rounds,
        "cpu_us_per_alert": medians,
        # One dedupe per alert: the full index's figure is the same step in another state.
        "total_us_per_alert": round(
            sum(us for step, us in medians.items() if step != "dedupe_full"), 1
        ),
    }


def main(argv: Sequence[str] | None = None) -> int:
    _, middle, old = gc.get_threshold()
    gc.set_threshold(YOUNG_THRESHOLD, middle, old)  # as a serving bridge (bridge.gctune)
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--passes", type=int, default=40)
    parser.add_argument("--pass-size", type=int, default=16, help="deliveries per pass")
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args(argv)
    result = asyncio.run(measure(args.passes, args.pass_size, args.rounds))
    print(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
