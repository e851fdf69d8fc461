"""Ensemble of univariate detectors, and secmon's default detector.

Members are calibrated to the same scale, so the ensemble's score is simply the highest
member score: a point is anomalous when any view of it is. The member with the highest score
supplies ``yhat`` and the band, so the forecast shown beside an alert is the one that raised it.

An anomaly usually lasts many points but is one event. After a score above 1 the ensemble
holds its score at no more than 1 for ``refractory`` points, so one incident gives one onset
instead of a burst of them (alert on it with ``keep_firing_for``, not ``for``; see
docs/anomaly.md). ``refractory=0`` turns this off.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from bridge.anomaly.base import JSON, Score, State
from bridge.anomaly.mad import RobustZScore
from bridge.anomaly.seasonal import DAY, SeasonalResidual

Member = RobustZScore | SeasonalResidual
_MEMBER_TYPES: dict[str, type[Member]] = {
    RobustZScore.kind: RobustZScore,
    SeasonalResidual.kind: SeasonalResidual,
}


class Ensemble:
    """The maximum of several calibrated univariate detectors, with a refractory period."""

    kind = "ensemble"

    def __init__(self, members: Sequence[Member], *, refractory: int = 100) -> None:
        if not members:
            raise ValueError("an ensemble needs at least one member")
        self.members = list(members)
        self.refractory = refractory
        self._quiet = 0  # points left in the current refractory period
        self._last = Score.warming_up(0.0)
        self._leader = 0

    def fit(self, timestamps: Sequence[float], values: Sequence[float]) -> None:
        for m in self.members:
            m.fit([], [])
        self._quiet = 0
        for t, v in zip(timestamps, values, strict=True):
            self.score(t, v)

    def score(self, timestamp: float, value: float) -> Score:
        scores = [m.score(timestamp, value) for m in self.members]
        self._leader = max(range(len(scores)), key=lambda i: scores[i].anomaly_score)
        best = scores[self._leader]
        if self._quiet > 0:
            self._quiet -= 1
            if best.anomaly_score > 1.0:
                best = Score(1.0, best.yhat, best.yhat_lower, best.yhat_upper)
        elif best.anomaly_score > 1.0:
            self._quiet = self.refractory
        self._last = best
        return best

    def explain(self) -> dict[str, JSON]:
        return {
            "detector": self.kind,
            "summary": "highest of the member scores",
            "anomaly_score": self._last.anomaly_score,
            "yhat": self._last.yhat,
            "yhat_lower": self._last.yhat_lower,
            "yhat_upper": self._last.yhat_upper,
            "refractory_points_left": self._quiet,
            "leading_member": self.members[self._leader].explain(),
        }

    def state_dict(self) -> State:
        return {
            "type": self.kind,
            "settings": {"refractory": self.refractory},
            "quiet": self._quiet,
            "members": [m.state_dict() for m in self.members],
        }

    def load_state(self, state: Mapping[str, JSON]) -> None:
        self.refractory = int(state["settings"]["refractory"])
        self._quiet = int(state["quiet"])
        members: list[Member] = []
        for member_state in state["members"]:
            member = _MEMBER_TYPES[member_state["type"]]()
            member.load_state(member_state)
            members.append(member)
        self.members = members


def default_detector() -> Ensemble:
    """secmon's default univariate detector, chosen on the NAB corpus (docs/anomaly.md).

    Three views of one series: the value against its recent median (spikes and dips), the
    change since the same time yesterday (broken daily patterns), and the mean of the last six
    points against the median before them (level shifts and drifts).
    """
    return Ensemble(
        [
            RobustZScore(window=200),
            SeasonalResidual(period=DAY, residual=RobustZScore(window=200)),
            RobustZScore(window=200, smooth=6),
        ],
        refractory=100,
    )
