"""Score secmon's default anomaly detector on the Numenta Anomaly Benchmark.

Every series is replayed point by point through a fresh detector, exactly as the bridge would
score it live (no look-ahead, no fitting on the future), and the scores are judged with NAB's
method (``bridge.anomaly.nab``). NAB's data is not shipped with secmon; download it from
https://github.com/numenta/NAB and pass its root with ``--data``.

    python benchmarks/anomaly/run_nab.py --data /path/to/NAB [--markdown results.md]
"""

from __future__ import annotations

import argparse
import multiprocessing
import sys
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO))  # run as a script from a checkout, without installing

from bridge.anomaly import nab  # noqa: E402
from bridge.anomaly.base import Score  # noqa: E402
from bridge.anomaly.ensemble import default_detector  # noqa: E402

PROFILES = ("standard", "reward_low_FP_rate", "reward_low_FN_rate")

# The NAB README's scoreboard (standard, low FP, low FN), printed beside secmon's result.
SCOREBOARD: list[tuple[str, float, float, float]] = [
    ("ARTime", 74.9, 65.1, 80.4),
    ("Numenta HTM", 70.5, 62.6, 75.2),
    ("CAD OSE", 69.9, 67.0, 73.2),
    ("earthgecko Skyline", 58.2, 46.2, 63.9),
    ("KNN CAD", 58.0, 43.4, 64.8),
    ("Relative Entropy", 54.6, 47.6, 58.8),
    ("Random Cut Forest", 51.7, 38.4, 59.7),
    ("Twitter ADVec v1.0.0", 47.1, 33.6, 53.5),
    ("Windowed Gaussian", 39.6, 20.9, 47.4),
    ("Etsy Skyline", 35.7, 27.1, 44.5),
    ("Bayesian Changepoint", 17.7, 3.2, 32.2),
    ("Random", 11.0, 1.2, 19.5),
    ("Null", 0.0, 0.0, 0.0),
]


def to_unit_interval(anomaly_score: float) -> float:
    """NAB wants [0, 1]; s / (1 + s) keeps the order of scores, so thresholds map 1:1."""
    return anomaly_score / (1.0 + anomaly_score)


def score_series(series: nab.DataFile) -> nab.FloatArray:
    """Replay one series through a fresh default detector, one point at a time."""
    detector = default_detector()
    seconds = series.timestamps.astype("datetime64[s]").astype(np.int64).astype(float)
    out = np.empty(len(series.values))
    for i, (t, v) in enumerate(zip(seconds.tolist(), series.values.tolist(), strict=True)):
        s: Score = detector.score(t, v)
        out[i] = to_unit_interval(s.anomaly_score)
    return out


def run(
    data: Path, *, workers: int, only: str | None, scorer: Callable[[nab.DataFile], nab.FloatArray]
) -> tuple[dict[str, nab.SweepResult], int, float]:
    files, windows = nab.read_corpus(data)
    if only:
        files = [f for f in files if only in f.name]
    profiles = nab.load_profiles(data / "config" / "profiles.json")
    started = time.process_time(), time.perf_counter()
    # Biggest series first so the two workers finish together.
    order = sorted(range(len(files)), key=lambda i: -len(files[i].values))
    with multiprocessing.Pool(workers) as pool:
        scored = pool.map(scorer, [files[i] for i in order], chunksize=1)
    scores = [np.empty(0)] * len(files)
    for i, s in zip(order, scored, strict=True):
        scores[i] = s
    elapsed = time.perf_counter() - started[1]
    labelled = [nab.label_file(f.name, f.timestamps, windows[f.name]) for f in files]
    pairs = list(zip(labelled, scores, strict=True))
    results = {p: nab.sweep(pairs, profiles[p]) for p in PROFILES}
    return results, sum(len(f.values) for f in files), elapsed


def render(results: dict[str, nab.SweepResult], rows: int, elapsed: float, command: str) -> str:
    ours = [results[p].normalised for p in PROFILES]
    board = [*SCOREBOARD, ("**secmon default (this run)**", ours[0], ours[1], ours[2])]
    board.sort(key=lambda r: -r[1])
    lines = [
        f"Command: `{command}`",
        "",
        f"{rows} points scored online in {elapsed:.1f} s wall time.",
        "",
        "| detector | standard | low FP | low FN |",
        "|---|---|---|---|",
        *(f"| {n} | {a:.1f} | {b:.1f} | {c:.1f} |" for n, a, b, c in board),
        "",
        "Thresholds chosen by the sweep (on `anomaly_score / (1 + anomaly_score)`): "
        + ", ".join(f"{p} {results[p].threshold:.4f}" for p in PROFILES),
    ]
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    default = REPO.parent / "shared" / "datasets" / "nab"
    parser.add_argument(
        "--data",
        type=Path,
        default=default if default.is_dir() else None,
        help="NAB checkout (with data/, labels/, config/); download from github.com/numenta/NAB",
    )
    parser.add_argument("--workers", type=int, default=2, help="processes (at most 2)")
    parser.add_argument("--only", help="score only files whose name contains this (iterating)")
    parser.add_argument("--markdown", type=Path, help="also write the results table here")
    args = parser.parse_args(argv)
    if args.data is None:
        parser.error("--data is required: clone https://github.com/numenta/NAB and point at it")
    workers = max(1, min(args.workers, 2))
    results, rows, elapsed = run(args.data, workers=workers, only=args.only, scorer=score_series)
    command = "python benchmarks/anomaly/run_nab.py" + (f" --only {args.only}" if args.only else "")
    text = render(results, rows, elapsed, command)
    print(text)
    if args.markdown:
        args.markdown.write_text(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
