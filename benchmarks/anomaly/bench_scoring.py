"""CPU cost of scoring many series with the default detector, one point each per interval.

The bridge scores every configured series once per interval (60 s by default). This measures
the CPU time of one such round for ``--series`` warmed-up detectors and reports it as a
fraction of one core: the budget is 10% for 1,000 series every 60 s.

    nice -n 19 python benchmarks/anomaly/bench_scoring.py --series 1000 --interval 60
"""

from __future__ import annotations

import argparse
import math
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))  # run from a checkout

from bridge.anomaly.ensemble import default_detector


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="CPU cost of anomaly scoring per interval")
    parser.add_argument("--series", type=int, default=1000)
    parser.add_argument("--interval", type=float, default=60.0, help="seconds between rounds")
    parser.add_argument("--warmup", type=int, default=1500, help="points of history per series")
    parser.add_argument("--rounds", type=int, default=20, help="scoring rounds measured")
    args = parser.parse_args(argv)

    rng = np.random.default_rng(0)
    t0 = 1_700_000_000.0
    total_points = args.warmup + args.rounds
    times = t0 + np.arange(total_points) * args.interval
    # A daily shape plus noise, so every member (seasonal included) is active when measured.
    shape = np.sin(2 * math.pi * times / 86_400)
    # Warming 1,000 detectors on a day of history each takes minutes; warm a few and give
    # every series a copy of one's state (load_state), which is what a restart does anyway.
    templates = []
    for _ in range(min(args.series, 8)):
        values = 100 + 30 * shape + rng.normal(0, 3, total_points)
        det = default_detector()
        det.fit(times[: args.warmup].tolist(), values[: args.warmup].tolist())
        templates.append(det.state_dict())
    detectors = []
    series = []
    for i in range(args.series):
        det = default_detector()
        det.load_state(templates[i % len(templates)])
        detectors.append(det)
        series.append((100 + 30 * shape[args.warmup :] + rng.normal(0, 3, args.rounds)).tolist())

    cpu = time.process_time()
    for r in range(args.rounds):
        t = float(times[args.warmup + r])
        for det, values in zip(detectors, series, strict=True):
            det.score(t, values[r])
    per_round = (time.process_time() - cpu) / args.rounds
    per_point_us = per_round / args.series * 1e6
    fraction = per_round / args.interval
    print(
        f"{args.series} series every {args.interval:g} s: {per_round * 1000:.1f} ms CPU per round,"
        f" {per_point_us:.0f} us per point, {fraction:.2%} of one core (budget 10%)"
    )
    return 0 if fraction < 0.10 else 1


if __name__ == "__main__":
    raise SystemExit(main())
