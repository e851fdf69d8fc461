"""The scores as Prometheus metrics, named as vmanomaly names them, plus the scheduler's own.

The scheduler replaces a query's snapshot after each scoring round; :meth:`ScoreCollector.collect`
only renders the snapshots (exposition is synchronous and must not wait on scoring)::

    secmon_anomaly_score{for="kong_requests",service="checkout"} 0.42
    secmon_anomaly_yhat{for="kong_requests",service="checkout"} 101.5
    secmon_anomaly_yhat_lower{for="kong_requests",service="checkout"} 88.1
    secmon_anomaly_yhat_upper{for="kong_requests",service="checkout"} 114.9

Series of one query may carry different label sets, so samples are added with their own
labels rather than through a family with fixed label names.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator, Mapping, Sequence

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram
from prometheus_client.metrics_core import Metric

from bridge.anomaly.base import Score
from bridge.frozen import frozen

FIELDS: tuple[tuple[str, str, str], ...] = (
    ("score", "anomaly_score", "Anomaly score: 0-1 normal, above 1 anomalous (vmanomaly)."),
    ("yhat", "yhat", "Value the detector expected."),
    ("yhat_lower", "yhat_lower", "Lower edge of the normal band (score 1 at this value)."),
    ("yhat_upper", "yhat_upper", "Upper edge of the normal band (score 1 at this value)."),
)


@frozen
class Published:
    """The current score of one series, with the labels it is published under."""

    labels: Mapping[str, str]  # includes "for"
    score: Score
    timestamp: float


class ScoreCollector:
    """Renders the latest score of every series; thread-safe against the scoring thread."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._snapshots: dict[str, Sequence[Published]] = {}

    def replace(self, query_name: str, published: Sequence[Published]) -> None:
        with self._lock:
            self._snapshots[query_name] = tuple(published)

    def current(self) -> list[Published]:
        """Every published score (for alert enrichment and tests)."""
        with self._lock:
            return [p for snap in self._snapshots.values() for p in snap]

    def collect(self) -> Iterator[Metric]:
        items = self.current()
        for suffix, attr, doc in FIELDS:
            name = f"secmon_anomaly_{suffix}"
            family = Metric(name, doc, "gauge")
            for p in items:
                family.add_sample(name, dict(p.labels), float(getattr(p.score, attr)))
            yield family

    def describe(self) -> Iterator[Metric]:
        # An empty description keeps the registry from calling collect() at registration.
        return iter(())


class SchedulerMetrics:
    """The scheduler's self-metrics, created up front on the given registry."""

    def __init__(self, registry: CollectorRegistry) -> None:
        self.queries = Counter(
            "secmon_anomaly_queries",
            "Prometheus range queries run by the anomaly scheduler, by outcome.",
            ["for", "outcome"],
            registry=registry,
        )
        self.series = Gauge(
            "secmon_anomaly_series",
            "Series scored per anomaly query.",
            ["for"],
            registry=registry,
            multiprocess_mode="livemax",
        )
        self.duration = Histogram(
            "secmon_anomaly_scoring_duration_seconds",
            "Wall time of one query's round: fetch, fit, score, publish and persist.",
            ["for"],
            buckets=(0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120),
            registry=registry,
        )
        self.points = Counter(
            "secmon_anomaly_points_scored",
            "Points scored by the anomaly scheduler.",
            ["for"],
            registry=registry,
        )

    def register_query(self, name: str) -> None:
        """Create a query's series at zero so rates work from the first scrape."""
        for outcome in ("success", "partial"):
            self.queries.labels(name, outcome)
        self.series.labels(name).set(0)
        self.duration.labels(name)
        self.points.labels(name)
