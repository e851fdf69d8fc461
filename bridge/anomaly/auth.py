"""Authentication anomalies: the seed's ``AuthenticationAnomalyDetector``.

Two signals:

- credential stuffing and brute force: failed logins per interval (and the failed share of
  all logins) against a baseline learned from the same service's recent intervals;
- impossible travel: two successive logins of one identity whose distance (haversine, on the
  Earth's mean radius) divided by the time between them exceeds what an airliner can do.

Failed logins are counts, so the baseline's spread is at least Poisson noise (the square root
of the median) and never below one login: a quiet service going from 0 to 2 failures is not an
attack, and ``min_failures`` makes that explicit.
"""

from __future__ import annotations

import math
from collections import OrderedDict
from collections.abc import Mapping, Sequence

import numpy as np
import numpy.typing as npt

from bridge.anomaly.base import JSON, Score, State
from bridge.anomaly.calibrate import Ring
from bridge.frozen import frozen

EARTH_RADIUS_KM = 6371.0088


@frozen
class AuthCounts:
    """Logins of one service in one interval."""

    failed: float
    total: float


@frozen
class Login:
    identity: str
    timestamp: float
    latitude: float
    longitude: float


@frozen
class TravelFinding:
    identity: str
    distance_km: float
    hours: float
    speed_kmh: float
    anomaly_score: float


def haversine_km(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * EARTH_RADIUS_KM * math.asin(math.sqrt(min(1.0, a)))


class ImpossibleTravel:
    """Remembers each identity's last login and scores the speed needed to reach the next."""

    def __init__(
        self,
        *,
        max_speed_kmh: float = 1000.0,
        min_distance_km: float = 300.0,
        max_identities: int = 100_000,
    ) -> None:
        self.max_speed_kmh = max_speed_kmh
        # GeoIP places one user in cities hundreds of km apart from one minute to the next.
        self.min_distance_km = min_distance_km
        self.max_identities = max_identities
        self._last: OrderedDict[str, tuple[float, float, float]] = OrderedDict()

    def observe(self, login: Login) -> TravelFinding | None:
        """Record a login; return a finding when the trip from the previous one is a stretch."""
        previous = self._last.pop(login.identity, None)
        self._last[login.identity] = (login.timestamp, login.latitude, login.longitude)
        if len(self._last) > self.max_identities:
            self._last.popitem(last=False)  # forget the identity idle the longest
        if previous is None:
            return None
        t0, lat0, lon0 = previous
        distance = haversine_km(lat0, lon0, login.latitude, login.longitude)
        if distance < self.min_distance_km:
            return None
        hours = max(login.timestamp - t0, 1.0) / 3600
        speed = distance / hours
        return TravelFinding(login.identity, distance, hours, speed, speed / self.max_speed_kmh)

    def state_dict(self) -> State:
        return {
            "settings": {
                "max_speed_kmh": self.max_speed_kmh,
                "min_distance_km": self.min_distance_km,
                "max_identities": self.max_identities,
            },
            "last": [[k, *v] for k, v in self._last.items()],
        }

    def load_state(self, state: Mapping[str, JSON]) -> None:
        s = state["settings"]
        self.max_speed_kmh = float(s["max_speed_kmh"])
        self.min_distance_km = float(s["min_distance_km"])
        self.max_identities = int(s["max_identities"])
        self._last = OrderedDict(
            (str(k), (float(t), float(lat), float(lon))) for k, t, lat, lon in state["last"]
        )


class AuthenticationAnomalyDetector:
    """Failed logins against a learned baseline, plus impossible travel per identity."""

    kind = "authentication"

    def __init__(
        self,
        *,
        window: int = 288,
        k: float = 4.0,
        min_failures: float = 10.0,
        travel: ImpossibleTravel | None = None,
    ) -> None:
        self.window = window
        self.k = k  # how many baseline spreads above the median counts as an attack
        self.min_failures = min_failures
        self.travel = travel or ImpossibleTravel()
        self._failed = Ring(window)
        self._share = Ring(window)
        self._last = Score.warming_up(0.0)

    def fit(self, timestamps: Sequence[float], values: Sequence[AuthCounts]) -> None:
        self._failed, self._share = Ring(self.window), Ring(self.window)
        for t, v in zip(timestamps, values, strict=True):
            self.score(t, v)

    @staticmethod
    def _upper(past: npt.NDArray[np.float64], k: float, poisson: bool) -> tuple[float, float]:
        median = float(np.median(past))
        spread = 1.4826 * float(np.median(np.abs(past - median)))
        if poisson:
            spread = max(spread, math.sqrt(median), 1.0)
        return median, median + k * max(spread, 1e-3)

    def score(self, timestamp: float, value: AuthCounts) -> Score:
        share = value.failed / value.total if value.total > 0 else 0.0
        if self._failed.count < 12:  # an hour of 5-minute points before judging
            self._last = Score.warming_up(value.failed)
        else:
            median, upper = self._upper(self._failed.values(), self.k, poisson=True)
            upper = max(upper, median + self.min_failures)
            by_count = max(0.0, value.failed - median) / (upper - median)
            s_median, s_upper = self._upper(self._share.values(), self.k, poisson=False)
            # A high failed share only matters with enough failures to be an attack.
            by_share = (
                max(0.0, share - s_median) / max(s_upper - s_median, 0.05)
                if value.failed >= self.min_failures
                else 0.0
            )
            self._last = Score(max(by_count, by_share), median, 0.0, upper)
        self._failed.append(value.failed)
        self._share.append(share)
        return self._last

    def observe_login(self, login: Login) -> TravelFinding | None:
        return self.travel.observe(login)

    def explain(self) -> dict[str, JSON]:
        return {
            "detector": self.kind,
            "summary": "failed logins per interval against the median of recent intervals",
            "anomaly_score": self._last.anomaly_score,
            "baseline_failed": self._last.yhat,
            "attack_threshold_failed": self._last.yhat_upper,
        }

    def state_dict(self) -> State:
        return {
            "type": self.kind,
            "settings": {"window": self.window, "k": self.k, "min_failures": self.min_failures},
            "failed": self._failed.state(),
            "share": self._share.state(),
            "travel": self.travel.state_dict(),
        }

    def load_state(self, state: Mapping[str, JSON]) -> None:
        s = state["settings"]
        self.window, self.k, self.min_failures = (
            int(s["window"]),
            float(s["k"]),
            float(s["min_failures"]),
        )
        self._failed = Ring.from_state(state["failed"])
        self._share = Ring.from_state(state["share"])
        self.travel.load_state(state["travel"])
