"""The detector interface every secmon anomaly model implements.

A detector watches one series (or one group of related series). ``fit`` learns from history;
``score`` takes one new point at a time and never looks ahead; ``explain`` says in words and
numbers what the detector currently believes; ``state_dict``/``load_state`` move that belief in
and out as plain JSON so a scheduler can persist thousands of them across restarts.

Scores follow VictoriaMetrics vmanomaly: ``anomaly_score`` in [0, 1] is normal, above 1 is
anomalous, and ``yhat_lower``/``yhat_upper`` are the values at which the score would reach 1.
"""

from __future__ import annotations

import base64
import math
from collections.abc import Mapping, Sequence
from typing import Any, Protocol, TypeVar

import numpy as np
import numpy.typing as npt

from bridge.frozen import frozen

JSON = Any
"""A value ``json.dumps`` accepts; kept loose because state shapes differ per detector."""

State = dict[str, JSON]

InputT_contra = TypeVar("InputT_contra", contravariant=True)


@frozen
class Score:
    """One scored point, named as vmanomaly names its output series."""

    anomaly_score: float
    yhat: float
    yhat_lower: float
    yhat_upper: float

    @property
    def is_anomaly(self) -> bool:
        return self.anomaly_score > 1.0

    @classmethod
    def warming_up(cls, value: float) -> Score:
        """The score while a detector has too little history to judge: normal, no band."""
        return cls(0.0, value, -math.inf, math.inf)


class Detector(Protocol[InputT_contra]):
    """An online anomaly detector for one series (univariate: ``InputT`` is ``float``)."""

    def fit(self, timestamps: Sequence[float], values: Sequence[InputT_contra]) -> None:
        """Learn from past points (Unix seconds, oldest first); replaces earlier learning."""

    def score(self, timestamp: float, value: InputT_contra) -> Score:
        """Score one new point and learn from it. Timestamps must increase."""

    def explain(self) -> dict[str, JSON]:
        """What the detector currently expects and why, for alert enrichment and debugging."""

    def state_dict(self) -> State:
        """Everything needed to resume, as JSON-serialisable data (settings included)."""

    def load_state(self, state: Mapping[str, JSON]) -> None:
        """Resume from ``state_dict`` output of a detector of the same type."""


def pack(array: npt.NDArray[Any], dtype: str = "<f8") -> str:
    """Encode a numeric array compactly for JSON state (base64 of little-endian bytes)."""
    return base64.b64encode(np.ascontiguousarray(array, dtype=dtype).tobytes()).decode("ascii")


def unpack(text: str, dtype: str = "<f8") -> npt.NDArray[np.float64]:
    return np.frombuffer(base64.b64decode(text), dtype=dtype).astype(np.float64)
