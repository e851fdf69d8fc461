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
"""

from __future__ import annotations

from collections.abc import Iterable

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

from bridge.store.base import ALERT_STATUSES

WEBHOOK_CODES = ("200", "400", "401", "413", "500", "503")
# Webhook latency is dominated by the durable commit: resolution from 1 ms to 10 s.
DURATION_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)


class BridgeMetrics:
    """Every metric the bridge exports, created up front on one registry."""

    def __init__(self, stage_names: Iterable[str] = ()) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
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
        self.store_up = Gauge(
            "secmon_bridge_store_up",
            "1 if the alert store answered its last operation or probe, else 0.",
            registry=self.registry,
        )
        self.pipeline_errors = Counter(
            "secmon_bridge_pipeline_errors",
            "Pipeline stages that raised after the alerts were stored, by stage.",
            ["stage"],
            registry=self.registry,
        )
        for status in ALERT_STATUSES:
            self.alerts_received.labels(status=status)
        for code in WEBHOOK_CODES:
            self.webhook_requests.labels(code=code)
        for stage in stage_names:
            self.pipeline_errors.labels(stage=stage)
