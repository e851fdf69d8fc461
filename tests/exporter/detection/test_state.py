"""DetectionState: violations as gauges, change matches as counters, read back from a registry."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

import pytest
from prometheus_client import CollectorRegistry, generate_latest

from exporter.detection import DetectionState, load_rules
from tests.exporter.detection.factories import RULES_DIR, event, kong_admin

KONG = {
    "rule_id": "kong_http_admin_api",
    "severity": "critical",
    "category": "configuration_security",
    "platform": "kong",
    "asset": "edge",
    "environment": "production",
    "endpoint": "admin_listen 0.0.0.0:8001",
}


@pytest.fixture
def state() -> DetectionState:
    return DetectionState.from_paths([RULES_DIR])


@pytest.fixture
def registry(state: DetectionState) -> CollectorRegistry:
    registry = CollectorRegistry()
    registry.register(state)
    return registry


def test_kong_admin_over_http_is_a_violation_until_fixed(
    state: DetectionState, registry: CollectorRegistry
) -> None:
    state.update("kong-edge", [kong_admin()])
    assert registry.get_sample_value("secmon_rule_violation", KONG) == 1.0

    state.update("kong-edge", [kong_admin(address="127.0.0.1", protocol="https", port=8444)])
    assert registry.get_sample_value("secmon_rule_violation", KONG) is None
    assert "secmon_rule_violation{" not in generate_latest(registry).decode()


@pytest.mark.parametrize(
    "fixed",
    [
        kong_admin(protocol="https"),
        kong_admin(port=8000),
        event(
            listener="proxy_listen", address="0.0.0.0", port=8001, protocol="http", endpoint="proxy"
        ),
        event(source="other", endpoint="admin_listen 0.0.0.0:8001", port=8001, protocol="http"),
    ],
)
def test_kong_rule_negative_cases(
    state: DetectionState, registry: CollectorRegistry, fixed: object
) -> None:
    state.update("kong-edge", [fixed])  # type: ignore[list-item]
    assert registry.get_sample_value("secmon_rule_violation", KONG) is None


def test_collectors_replace_only_their_own_violations(
    state: DetectionState, registry: CollectorRegistry
) -> None:
    other = {**KONG, "asset": "internal", "endpoint": "admin_listen 10.0.0.5:8001"}
    state.update("kong-edge", [kong_admin()])
    state.update(
        "kong-internal",
        [
            event(
                asset="internal",
                listener="admin_listen",
                port=8001,
                protocol="http",
                endpoint="admin_listen 10.0.0.5:8001",
            )
        ],
    )
    state.update("kong-edge", [])
    assert registry.get_sample_value("secmon_rule_violation", KONG) is None
    assert registry.get_sample_value("secmon_rule_violation", other) == 1.0
    assert len(state.violations()) == 1


def test_change_events_count_matches(state: DetectionState, registry: CollectorRegistry) -> None:
    change = event(
        "kong_monitor",
        "plugin_configuration_change",
        kind="change",
        plugin_type="jwt",
        service_name="billing",
        plugin_id="abc",
    )
    labels = {
        "rule_id": "kong_plugin_security_change",
        "severity": "high",
        "category": "configuration_change",
        "platform": "kong",
        "asset": "edge",
        "environment": "production",
        "plugin_type": "jwt",
        "service_name": "billing",
    }
    state.update("kong-edge", [change, change])
    state.update("kong-edge", [change])
    assert registry.get_sample_value("secmon_rule_matches_total", labels) == 3.0
    state.update(
        "kong-edge",
        [
            event(
                "kong_monitor",
                "plugin_configuration_change",
                kind="change",
                plugin_type="bot-detection",
            )
        ],
    )
    assert registry.get_sample_value("secmon_rule_matches_total", labels) == 3.0
    assert registry.get_sample_value("secmon_rule_violation", labels) is None


@pytest.mark.parametrize(
    ("score", "severity"),
    [
        (9.8, "critical"),
        (9.0, "critical"),
        (8.1, "high"),
        ("7.0", "high"),
        (6.9, None),
        (None, None),
    ],
)
def test_cvss_bands_set_severity(
    state: DetectionState, registry: CollectorRegistry, score: object, severity: str | None
) -> None:
    data: dict[str, Any] = {"cve_id": "CVE-2024-3094"}
    if score is not None:
        data["cvss_score"] = score
    state.update(
        "trivy",
        [
            event(
                "vulnerability_scanner",
                "vulnerability_found",
                platform="kubernetes",
                asset="api",
                **data,
            )
        ],
    )
    found = {key[1] for key in state.violations() if key[0] == "cve_detection"}
    assert found == ({severity} if severity else set())
    if severity:
        labels = {
            "rule_id": "cve_detection",
            "severity": severity,
            "category": "vulnerability_management",
            "platform": "kubernetes",
            "asset": "api",
            "environment": "production",
        }
        # The CVE id is unbounded and no template references it: it must not be a label.
        assert registry.get_sample_value("secmon_rule_violation", labels) == 1.0


def test_rule_metadata_metrics(state: DetectionState, registry: CollectorRegistry) -> None:
    count = len(state.rules)
    assert registry.get_sample_value("secmon_rules_loaded") == count
    info = {
        "rule_id": "kong_http_admin_api",
        "name": "Kong Admin API HTTP Exposure",
        "category": "configuration_security",
        "severity": "critical",
    }
    assert registry.get_sample_value("secmon_rule_info", info) == 1.0
    assert (
        registry.get_sample_value(
            "secmon_rule_info",
            {
                **info,
                "rule_id": "cve_detection",
                "name": "Known CVE Detected",
                "category": "vulnerability_management",
                "severity": "varies_by_cvss",
            },
        )
        == 1.0
    )
    for rule in state.rules:
        assert (
            registry.get_sample_value(
                "secmon_rule_evaluation_errors_total", {"rule_id": rule.rule_id}
            )
            == 0.0
        )


def test_evaluation_errors_are_counted_and_do_not_block_other_rules(tmp_path: Path) -> None:
    (tmp_path / "r.yaml").write_text(
        """\
rule_id: fragile
name: Fragile
severity: low
category: test_rules
conditions:
  - data.x.y == 1
""",
        encoding="utf-8",
    )

    class Exploding(dict[str, object]):
        def get(self, key: str, default: object = None) -> object:
            raise RuntimeError("boom")

    rules = load_rules([tmp_path, RULES_DIR / "kong"])
    state = DetectionState(rules)
    registry = CollectorRegistry()
    registry.register(state)
    bad = event(source="anything")
    object.__setattr__(bad, "data", Exploding())
    state.update("c", [bad, kong_admin()])
    assert (
        registry.get_sample_value("secmon_rule_evaluation_errors_total", {"rule_id": "fragile"})
        == 1.0
    )
    assert registry.get_sample_value("secmon_rule_violation", KONG) == 1.0


def test_exposition_is_valid_text_format(
    state: DetectionState, registry: CollectorRegistry
) -> None:
    state.update("kong-edge", [kong_admin()])
    text = generate_latest(registry).decode()
    assert "# TYPE secmon_rule_violation gauge" in text
    assert "# TYPE secmon_rule_matches_total counter" in text
    assert "# TYPE secmon_rule_info gauge" in text
    assert (
        'secmon_rule_violation{asset="edge",category="configuration_security",'
        'endpoint="admin_listen 0.0.0.0:8001"' in text
    )


def test_concurrent_scrapes_see_whole_updates(
    state: DetectionState, registry: CollectorRegistry
) -> None:
    """A scrape during updates sees either all of a poll's violations or none of them."""
    polls = [[kong_admin(port=8001), kong_admin(port=8444)], []]
    state.update("kong-edge", polls[0])
    whole = len(state.violations())
    assert whole >= 2
    stop = threading.Event()

    def writer() -> None:
        i = 0
        while not stop.is_set():
            state.update("kong-edge", polls[i % 2])
            i += 1

    thread = threading.Thread(target=writer)
    thread.start()
    try:
        for _ in range(300):
            families = {m.name: m for m in registry.collect()}
            assert len(families["secmon_rule_violation"].samples) in (0, whole)
    finally:
        stop.set()
        thread.join()
