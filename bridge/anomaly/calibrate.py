"""Turn a raw deviation into the score convention by comparing it with its own recent past.

A robust z-score of 6 is routine on a spiky series and unheard of on a smooth one, so one fixed
z threshold cannot serve every series. The calibrator keeps the last ``history`` raw
deviations and divides each new one by their ``quantile`` (the 99.9th percentile by default):
a score above 1 means "more extreme than almost everything this series did lately".
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import numpy.typing as npt

from bridge.anomaly.base import JSON, State, pack, unpack


class Ring:
    """A fixed-size buffer of the latest floats, cheap to append and to read whole."""

    def __init__(self, size: int) -> None:
        self.size = size
        self._data = np.zeros(size)
        self._next = 0
        self.count = 0

    def append(self, value: float) -> None:
        self._data[self._next] = value
        self._next = (self._next + 1) % self.size
        self.count = min(self.count + 1, self.size)

    def values(self) -> npt.NDArray[np.float64]:
        """The stored values in no particular order (for order-free statistics)."""
        return self._data[: self.count] if self.count < self.size else self._data

    def state(self, dtype: str = "<f8") -> State:
        return {
            "size": self.size,
            "next": self._next,
            "count": self.count,
            "data": pack(self._data, dtype),
        }

    @classmethod
    def from_state(cls, state: Mapping[str, JSON], dtype: str = "<f8") -> Ring:
        ring = cls(int(state["size"]))
        ring._data = unpack(state["data"], dtype).copy()
        ring._next = int(state["next"])
        ring.count = int(state["count"])
        return ring


class Calibrator:
    """Scores a raw deviation against a high quantile of the deviations seen before it."""

    def __init__(
        self,
        *,
        history: int = 2000,
        quantile: float = 0.999,
        refresh: int = 10,
        min_points: int = 100,
    ) -> None:
        self.history = history
        self.quantile = quantile
        # Recomputing the quantile on every point costs more than the rest of the detector;
        # a reference at most `refresh` points stale changes no decision that matters.
        self.refresh = refresh
        self.min_points = min_points
        self._past = Ring(history)
        self._seen = 0
        self.reference = float("inf")

    def fresh(self) -> Calibrator:
        """A calibrator with the same settings and no history."""
        return Calibrator(
            history=self.history,
            quantile=self.quantile,
            refresh=self.refresh,
            min_points=self.min_points,
        )

    def calibrate(self, deviation: float) -> float:
        """Score ``deviation`` (>= 0) against the past, then remember it."""
        if self._seen >= self.min_points and self._seen % self.refresh == 0:
            self.reference = float(np.quantile(self._past.values(), self.quantile))
        score = deviation / (self.reference + 1e-9) if self._seen >= self.min_points else 0.0
        self._past.append(deviation)
        self._seen += 1
        return score

    def state_dict(self) -> State:
        # float32 halves the state; the quantile of past deviations needs no more precision.
        return {
            "history": self.history,
            "quantile": self.quantile,
            "refresh": self.refresh,
            "min_points": self.min_points,
            "seen": self._seen,
            # JSON has no infinity; None stands for "no reference yet".
            "reference": None if np.isinf(self.reference) else self.reference,
            "past": self._past.state("<f4"),
        }

    @classmethod
    def from_state(cls, state: Mapping[str, JSON]) -> Calibrator:
        cal = cls(
            history=int(state["history"]),
            quantile=float(state["quantile"]),
            refresh=int(state["refresh"]),
            min_points=int(state["min_points"]),
        )
        cal._seen = int(state["seen"])
        ref = state["reference"]
        cal.reference = float("inf") if ref is None else float(ref)
        cal._past = Ring.from_state(state["past"], "<f4")
        return cal
