"""Detection engine throughput: events per second against the whole rule pack on one core.

The event mix is every rule's positive and negative example from the rule-pack tests (so every
rule and every source is exercised, half the events match), spread over many assets so the
violation and match sets grow as they would for a real estate. The engine runs in this single
thread; the figure is the median of several timed rounds after a warm-up round.

    python benchmarks/detection/bench_engine.py [--events 400000] [--rounds 5] [--markdown FILE]
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import sys
import time
from dataclasses import replace
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO))

from exporter.detection import DetectionState, Engine, load_rules  # noqa: E402
from exporter.events import Event  # noqa: E402
from tests.exporter.detection.test_rule_pack import EXAMPLES  # noqa: E402


def event_mix(count: int, assets: int) -> list[Event]:
    base = [event for pair in EXAMPLES.values() for event in pair]
    return [
        replace(base[i % len(base)], asset=f"asset-{(i // len(base)) % assets}")
        for i in range(count)
    ]


def timed(rounds: int, run: object) -> list[float]:
    assert callable(run)
    run()  # warm-up: fills the (source, event_type) candidate cache
    durations = []
    for _ in range(rounds):
        started = time.perf_counter()
        run()
        durations.append(time.perf_counter() - started)
    return durations


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=400_000)
    parser.add_argument("--assets", type=int, default=500)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--rules", default=str(REPO / "rules"))
    parser.add_argument("--markdown", type=Path, help="write a results table to this file")
    args = parser.parse_args()

    rules = load_rules([args.rules])
    engine = Engine(rules)
    events = event_mix(args.events, args.assets)
    state = DetectionState(rules)

    engine_runs = timed(args.rounds, lambda: engine.evaluate(events))
    state_runs = timed(args.rounds, lambda: state.update("bench", events))
    render_runs = timed(args.rounds, lambda: list(state.collect()))

    engine_rate = args.events / statistics.median(engine_runs)
    state_rate = args.events / statistics.median(state_runs)
    series = len(state.violations())
    lines = [
        f"rules loaded: {len(rules)}; events per round: {args.events:,}; assets: {args.assets}",
        f"Engine.evaluate:        {engine_rate:>12,.0f} events/s (median of {args.rounds})",
        f"DetectionState.update:  {state_rate:>12,.0f} events/s (evaluate + swap-in)",
        f"DetectionState.collect: {statistics.median(render_runs) * 1000:>9.1f} ms "
        f"for {series:,} violation series",
    ]
    print("\n".join(lines))
    if args.markdown:
        args.markdown.write_text(
            "| measurement | result |\n|---|---|\n"
            f"| rules in the pack | {len(rules)} |\n"
            f"| `Engine.evaluate` | {engine_rate:,.0f} events/s |\n"
            f"| `DetectionState.update` (evaluate + publish) | {state_rate:,.0f} events/s |\n"
            f"| render {series:,} violation series | "
            f"{statistics.median(render_runs) * 1000:.1f} ms |\n"
            f"\nPython {platform.python_version()}, {os.cpu_count()} CPUs visible, one thread.\n"
        )
    return 0 if engine_rate >= 100_000 else 1


if __name__ == "__main__":
    sys.exit(main())
