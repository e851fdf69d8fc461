"""Scoring by the method of the Numenta Anomaly Benchmark (Lavin & Ahmad, 2015).

Written from the method's description, not from NAB's code. A detector emits one score per row;
a threshold turns scores into detections; detections are judged against labelled anomaly
windows:

- the first ``min(floor(0.15 * rows), 750)`` rows of each file are a probation period and
  count for nothing;
- inside a window only the earliest detection counts, worth ``tp_weight`` times a scaled
  sigmoid of its position (``y`` from -1 at the left edge to 0 at the right edge, normalised so
  that a detection on the first row is worth exactly ``tp_weight``);
- a window without detection costs ``fn_weight``;
- a detection outside every window costs ``fp_weight``: in full before the first window, and
  after a window scaled by the sigmoid of its distance from that window's right edge measured
  in window widths (a detection just after a window is nearly free, a late one costs in full);
- one threshold per profile is chosen to maximise the total over the corpus, and the total is
  normalised to 100 for the perfect detector and 0 for the null detector (never fires).
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]

OUTSIDE = -1
"""Window index of a scored row outside every window."""
PROBATION = -2
"""Window index of a row in the probation period (never scored)."""


@dataclass(frozen=True)
class Profile:
    """Cost weights of one NAB application profile."""

    name: str
    tp_weight: float
    fn_weight: float
    fp_weight: float


def load_profiles(path: Path) -> dict[str, Profile]:
    """Read NAB's ``config/profiles.json``."""
    raw = json.loads(path.read_text())
    return {
        name: Profile(
            name=name,
            tp_weight=float(spec["CostMatrix"]["tpWeight"]),
            fn_weight=float(spec["CostMatrix"]["fnWeight"]),
            fp_weight=float(spec["CostMatrix"]["fpWeight"]),
        )
        for name, spec in raw.items()
    }


def load_windows(path: Path) -> dict[str, list[tuple[str, str]]]:
    """Read ``labels/combined_windows.json``: file name -> list of (start, end) timestamps."""
    raw = json.loads(path.read_text())
    return {name: [(str(w[0]), str(w[1])) for w in wins] for name, wins in raw.items()}


def scaled_sigmoid(y: FloatArray | float) -> FloatArray:
    """``2 / (1 + e^(5y)) - 1``: about +1 at y = -1, 0 at y = 0, towards -1 for large y."""
    # Clipping avoids overflow in exp; beyond y = 3 the curve is already -1 to within 1e-6.
    return 2.0 / (1.0 + np.exp(5.0 * np.minimum(np.asarray(y, dtype=np.float64), 3.0))) - 1.0


def probation_length(rows: int) -> int:
    return min(math.floor(0.15 * rows), 750)


@dataclass(frozen=True)
class LabelledFile:
    """Per-row window membership and unweighted value of one data file."""

    name: str
    window_index: IntArray
    """Window number for rows in a window, ``OUTSIDE`` or ``PROBATION`` otherwise."""
    value: FloatArray
    """Unweighted worth of a detection on this row: (0, 1] in a window, [-1, 0) outside."""
    n_windows: int


def label_file(
    name: str,
    timestamps: Sequence[np.datetime64] | npt.NDArray[np.datetime64],
    windows: Sequence[tuple[str, str]],
) -> LabelledFile:
    """Mark each row with its window and the worth of a detection there."""
    ts = np.asarray(timestamps, dtype="datetime64[ns]")
    n = len(ts)
    index = np.full(n, OUTSIDE, dtype=np.int64)
    value = np.full(n, -1.0)
    bounds: list[tuple[int, int]] = []
    for k, (start, end) in enumerate(windows):
        left = int(np.searchsorted(ts, np.datetime64(start, "ns"), side="left"))
        right = int(np.searchsorted(ts, np.datetime64(end, "ns"), side="right")) - 1
        if right < left:
            continue
        bounds.append((left, right))
        index[left : right + 1] = k
    max_tp = float(scaled_sigmoid(-1.0))
    for k, (left, right) in enumerate(bounds):
        width = right - left + 1
        inside = np.arange(left, right + 1)
        value[inside] = scaled_sigmoid(-(right - inside + 1) / width) / max_tp
        # Detections after this window, up to the next one, cost less the closer they are.
        stop = bounds[k + 1][0] if k + 1 < len(bounds) else n
        after = np.arange(right + 1, stop)
        value[after] = scaled_sigmoid((after - right) / width)
    index[: probation_length(n)] = PROBATION
    return LabelledFile(name=name, window_index=index, value=value, n_windows=len(windows))


def score_detections(
    labelled: LabelledFile, detections: npt.NDArray[np.bool_], p: Profile
) -> float:
    """Raw NAB score of one file for a boolean detection per row."""
    total = 0.0
    for k in range(labelled.n_windows):
        hits = np.flatnonzero(detections & (labelled.window_index == k))
        total += p.tp_weight * labelled.value[hits[0]] if hits.size else -p.fn_weight
    fps = detections & (labelled.window_index == OUTSIDE)
    return total + p.fp_weight * float(labelled.value[fps].sum())


@dataclass(frozen=True)
class SweepResult:
    profile: str
    threshold: float
    raw: float
    null: float
    perfect: float

    @property
    def normalised(self) -> float:
        return 100.0 * (self.raw - self.null) / (self.perfect - self.null)


def sweep(files: Sequence[tuple[LabelledFile, FloatArray]], p: Profile) -> SweepResult:
    """Best corpus score over every threshold (a row is detected when ``score >= threshold``).

    Rows of the whole corpus are visited from the highest score down; each row's change to the
    total is its FP cost, or for a window row the gain when it becomes the window's earliest
    detection so far. The running sum at the last row of each run of equal scores is the total
    for that threshold.
    """
    n_windows = sum(f.n_windows for f, _ in files)
    null = -p.fn_weight * n_windows
    perfect = p.tp_weight * n_windows
    scores = np.concatenate([s for _, s in files])
    values = np.concatenate([f.value for f, _ in files])
    parts: list[IntArray] = []
    offset = 0
    for f, _ in files:  # number windows across the corpus
        parts.append(np.where(f.window_index >= 0, f.window_index + offset, f.window_index))
        offset += f.n_windows
    window = np.concatenate(parts)
    keep = window != PROBATION
    scores, values, window = scores[keep], values[keep], window[keep]
    order = np.argsort(-scores, kind="stable")
    scores, values, window = scores[order], values[order], window[order]
    delta = np.where(window == OUTSIDE, p.fp_weight * values, 0.0)
    in_win = np.flatnonzero(window >= 0)
    # Group window rows by window (stable, so each group stays in descending-score order).
    grouped = in_win[np.argsort(window[in_win], kind="stable")]
    bounds = np.flatnonzero(np.diff(window[grouped])) + 1
    for rows in np.split(grouped, bounds):
        if rows.size == 0:
            continue
        best = np.maximum.accumulate(values[rows])
        gain = np.diff(best, prepend=0.0) * p.tp_weight
        gain[0] += p.fn_weight  # the first detection also removes the miss
        delta[rows] = gain
    totals = null + np.cumsum(delta)
    last_of_run = np.append(scores[1:] != scores[:-1], True)
    candidates = np.flatnonzero(last_of_run)
    if candidates.size == 0:
        return SweepResult(p.name, math.inf, null, null, perfect)
    best_i = candidates[np.argmax(totals[candidates])]
    if totals[best_i] <= null:
        return SweepResult(p.name, math.inf, null, null, perfect)
    return SweepResult(p.name, float(scores[best_i]), float(totals[best_i]), null, perfect)


@dataclass(frozen=True)
class DataFile:
    """One NAB series: its name (``subset/file.csv``), timestamps and values."""

    name: str
    timestamps: npt.NDArray[np.datetime64]
    values: FloatArray


def read_series(path: Path, name: str) -> DataFile:
    """Read a NAB ``timestamp,value`` CSV."""
    stamps: list[np.datetime64] = []
    values: list[float] = []
    with path.open() as fh:
        next(fh)  # header
        for line in fh:
            stamp, _, value = line.rstrip("\n").rpartition(",")
            stamps.append(np.datetime64(stamp.replace(" ", "T"), "ns"))
            values.append(float(value))
    return DataFile(name, np.array(stamps, dtype="datetime64[ns]"), np.array(values))


def read_corpus(root: Path) -> tuple[list[DataFile], dict[str, list[tuple[str, str]]]]:
    """Every series under ``root/data`` with its windows, in a stable order."""
    windows = load_windows(root / "labels" / "combined_windows.json")
    files = [read_series(root / "data" / name, name) for name in sorted(windows)]
    return files, windows
