"""The bridge's own metrics, on a registry per app (never the process-global one).

A registry per app keeps two apps in one process (tests, or a future multi-tenant setup) from
sharing counters. Label values that are known up front are created at start, so dashboards see
zeros instead of missing series::

    secmon_bridge_alerts_received_total{status="firing"} 12.0
    secmon_bridge_alerts_duplicate_total 4.0
    secmon_bridge_webhook_requests_total{code="200"} 9.0
    secmon_bridge_webhook_duration_seconds_bucket{le="0.005"} 7.0
    secmon_bridge_store_up 1.0
    secmon_bridge_pipeline_errors_total{stage="announce"} 0.0
    secmon_bridge_alerts_deduplicated_total{kind="similar"} 3.0
    secmon_bridge_alerts_truncated_total 0.0
    secmon_bridge_alerts_expired_total 1.0
    secmon_bridge_pipeline_duration_seconds_bucket{le="0.005"} 9.0
    secmon_bridge_open_alerts{severity="critical"} 2.0
    secmon_bridge_time_to_acknowledge_seconds_bucket{severity="critical",le="300.0"} 1.0
    secmon_bridge_time_to_resolve_seconds_bucket{severity="high",le="3600.0"} 1.0
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from prometheus_client import (
    CollectorRegistry,
    Counter,
    Gauge,
    GCCollector,
    Histogram,
    ProcessCollector,
    generate_latest,
    values,
)
from prometheus_client.multiprocess import MultiProcessCollector
from prometheus_client.registry import Collector

from bridge.store.base import ALERT_STATUSES

SEVERITIES = ("critical", "high", "medium", "low")
# MTTA/MTTR span seconds (auto-resolved flaps) to days; targets are 15 min and 4 h (seed KPIs).
RESPONSE_BUCKETS = (
    10.0, 30.0, 60.0, 300.0, 900.0, 1800.0, 3600.0, 4 * 3600.0, 12 * 3600.0, 86400.0,
    3 * 86400.0, 7 * 86400.0,
)  # fmt: skip

WEBHOOK_CODES = ("200", "400", "401", "413", "500", "503")
# Webhook latency is dominated by the durable commit: resolution from 1 ms to 10 s.
DURATION_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)


# Set in each worker process when ``serve`` runs several (bridge/workers.py).
_multiprocess_dir: Path | None = None


def enable_multiprocess(directory: Path) -> None:
    """Keep this process's metric values in files under ``directory``, where /metrics in any
    worker sums them (prometheus_client's multiprocess mode). Call before creating metrics."""
    global _multiprocess_dir  # one switch per process, set once at its start
    _multiprocess_dir = directory
    values.ValueClass = values.MultiProcessValue()  # type: ignore[no-untyped-call]


class BridgeMetrics:
    """Every metric the bridge exports, created up front on one registry.

    With several workers, gauges say how to combine the workers' values
    (``multiprocess_mode``; single-process bridges ignore it)."""

    def __init__(self, stage_names: Iterable[str] = ()) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        self._multiprocess_dir = _multiprocess_dir
        # Collectors computed at scrape time from this process's state (not values in files).
        self._live_collectors: list[Collector] = []
        if self._multiprocess_dir is None:
            # process_* (CPU, memory, open files) and python_gc_* (collections by generation);
            # with several workers they would describe only the worker that was scraped.
            ProcessCollector(registry=self.registry)
            GCCollector(registry=self.registry)
        self.alerts_received = Counter(
            "secmon_bridge_alerts_received",
            "Alerts received from Alertmanager (duplicates included), by alert status.",
            ["status"],
            registry=self.registry,
        )
        self.alerts_duplicate = Counter(
            "secmon_bridge_alerts_duplicate",
            "Alerts received again with a (fingerprint, startsAt, status) already stored.",
            registry=self.registry,
        )
        self.webhook_requests = Counter(
            "secmon_bridge_webhook_requests",
            "Alertmanager webhook requests, by HTTP response code.",
            ["code"],
            registry=self.registry,
        )
        self.webhook_duration = Histogram(
            "secmon_bridge_webhook_duration_seconds",
            "Time from request start to response for Alertmanager webhook requests.",
            buckets=DURATION_BUCKETS,
            registry=self.registry,
        )
        self.delivery_group_size = Histogram(
            "secmon_bridge_store_delivery_group_size",
            "Webhook deliveries recorded by one store statement and commit (group commit; "
            "PostgreSQL store only).",
            buckets=(1, 2, 4, 8, 16, 32, 64),
            registry=self.registry,
        )
        self.store_up = Gauge(
            "secmon_bridge_store_up",
            "1 if the alert store answered its last operation or probe, else 0.",
            registry=self.registry,
            multiprocess_mode="livemin",
        )
        self.pipeline_errors = Counter(
            "secmon_bridge_pipeline_errors",
            "Pipeline stages that raised after the alerts were stored, by stage.",
            ["stage"],
            registry=self.registry,
        )
        self.write_retries = Counter(
            "secmon_bridge_pipeline_write_retries",
            "Pipeline writes tried again because an alert instance they change was still being "
            "created by another pass or replica.",
            registry=self.registry,
        )
        self.alerts_deduplicated = Counter(
            "secmon_bridge_alerts_deduplicated",
            "New alert instances merged into a primary alert, by match kind (exact|similar).",
            ["kind"],
            registry=self.registry,
        )
        self.alerts_truncated = Counter(
            "secmon_bridge_alerts_truncated",
            "Alerts Alertmanager left out of payloads (truncatedAlerts); never taken as resolved.",
            registry=self.registry,
        )
        self.alerts_expired = Counter(
            "secmon_bridge_alerts_expired",
            "Firing alerts the expiry sweep resolved because Alertmanager stopped sending them.",
            registry=self.registry,
        )
        self.history_pruned = Counter(
            "secmon_bridge_history_pruned",
            "Rows deleted by history retention (lifecycle.history_retention_days), by kind: "
            "alerts (each with its timeline, occurrences, receipts, escalations), "
            "security_events and dead_letters.",
            ["kind"],
            registry=self.registry,
        )
        self.payload_bodies_pruned = Counter(
            "secmon_bridge_payload_bodies_pruned",
            "Raw webhook bodies emptied by retention (lifecycle.payload_retention_days).",
            registry=self.registry,
        )
        self.pipeline_duration = Histogram(
            "secmon_bridge_pipeline_duration_seconds",
            "Time the pipeline stages took for one worker pass (one or more stored deliveries).",
            buckets=DURATION_BUCKETS,
            registry=self.registry,
        )
        self.stage_duration = Histogram(
            "secmon_bridge_pipeline_stage_duration_seconds",
            "Time one pipeline stage took for one worker pass, by stage (without the wait "
            "for its turn in an ordered stage).",
            ["stage"],
            buckets=DURATION_BUCKETS,
            registry=self.registry,
        )
        self.turn_wait = Histogram(
            "secmon_bridge_pipeline_turn_wait_seconds",
            "Time a worker pass waited for its turn in an ordered stage (dedupe, the lifecycle "
            "write) behind the passes before it, by stage.",
            ["stage"],
            buckets=DURATION_BUCKETS,
            registry=self.registry,
        )
        self.open_alerts = Gauge(
            "secmon_bridge_open_alerts",
            "Alerts in status open, by severity (a cached count, refreshed periodically).",
            ["severity"],
            registry=self.registry,
            # Counted by the worker that runs the chores; the others keep zeros.
            multiprocess_mode="livemax",
        )
        self.time_to_acknowledge = Histogram(
            "secmon_bridge_time_to_acknowledge_seconds",
            "Time from an alert's creation to its acknowledgement (MTTA), by severity.",
            ["severity"],
            buckets=RESPONSE_BUCKETS,
            registry=self.registry,
        )
        self.time_to_resolve = Histogram(
            "secmon_bridge_time_to_resolve_seconds",
            "Time from an alert's creation to its resolution (MTTR), by severity.",
            ["severity"],
            buckets=RESPONSE_BUCKETS,
            registry=self.registry,
        )
        self._open_seen: set[str] = set(SEVERITIES)
        for kind in ("exact", "similar"):
            self.alerts_deduplicated.labels(kind=kind)
        for severity in SEVERITIES:
            self.open_alerts.labels(severity=severity).set(0)
            self.time_to_acknowledge.labels(severity=severity)
            self.time_to_resolve.labels(severity=severity)
        for status in ALERT_STATUSES:
            self.alerts_received.labels(status=status)
        for code in WEBHOOK_CODES:
            self.webhook_requests.labels(code=code)
        self.register_stages(stage_names)

    def register_collector(self, collector: Collector) -> None:
        """Add a collector that computes its samples at scrape time."""
        self.registry.register(collector)
        self._live_collectors.append(collector)

    def exposition(self) -> bytes:
        """The text format for /metrics: this process's registry, or with several workers
        every worker's values combined (plus this process's scrape-time collectors)."""
        if self._multiprocess_dir is None:
            return generate_latest(self.registry)
        registry = CollectorRegistry()
        MultiProcessCollector(registry, path=str(self._multiprocess_dir))  # type: ignore[no-untyped-call]
        for collector in self._live_collectors:
            registry.register(collector)
        return generate_latest(registry)

    def register_stages(self, stage_names: Iterable[str], ordered: Iterable[str] = ()) -> None:
        for stage in stage_names:
            self.pipeline_errors.labels(stage=stage)
            self.stage_duration.labels(stage=stage)
        for stage in ordered:
            self.turn_wait.labels(stage=stage)

    def observe_acknowledged(self, severity: str | None, seconds: float) -> None:
        self.time_to_acknowledge.labels(severity=severity or "unknown").observe(max(0.0, seconds))

    def observe_resolved(self, severity: str | None, seconds: float) -> None:
        self.time_to_resolve.labels(severity=severity or "unknown").observe(max(0.0, seconds))

    def set_open_alerts(self, counts: dict[str, int]) -> None:
        """Replace the gauge's values; severities that dropped to none read 0, not stale."""
        self._open_seen.update(counts)
        for severity in self._open_seen:
            self.open_alerts.labels(severity=severity).set(counts.get(severity, 0))
