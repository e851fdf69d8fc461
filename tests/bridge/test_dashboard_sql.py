"""Every SQL query of the seed's dashboards runs on the PostgreSQL schema, with data in it.

The queries are the seed document's ("Monitoring Dashboards"), verbatim. One of them is not
valid SQL on PostgreSQL ("Alert Volume Trend" selects ``created_at`` while grouping by its
hour); the test pins that and runs the nearest valid form, which the dashboards use.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg
import pytest

from bridge.alertmanager import parse_payload, to_delivery
from bridge.store import AlertStore, open_store
from bridge.store.records import Transition
from tests.bridge.helpers import drop_bridge_tables, make_alert, make_payload, record_and_process
from tests.harness.stack import REPO

pytestmark = pytest.mark.postgres

ACTIVE_BY_SEVERITY = (
    "SELECT severity, COUNT(*) FROM alert_instances WHERE status='open' GROUP BY severity"
)
VOLUME_TREND_SEED = (
    "SELECT created_at, COUNT(*) FROM alert_instances WHERE created_at > NOW() - "
    "INTERVAL '24 hours' GROUP BY DATE_TRUNC('hour', created_at)"
)
VOLUME_TREND = (
    "SELECT DATE_TRUNC('hour', created_at) AS created_at, COUNT(*) FROM alert_instances "
    "WHERE created_at > NOW() - INTERVAL '24 hours' GROUP BY DATE_TRUNC('hour', created_at)"
)
MTTR_BY_SEVERITY = (
    "SELECT severity, AVG(EXTRACT(EPOCH FROM (resolved_at - created_at))/60) as mttr_minutes "
    "FROM alert_instances WHERE resolved_at IS NOT NULL GROUP BY severity"
)
KONG_SCORE = "SELECT AVG(security_score) FROM assets WHERE platform='kong'"
GITHUB_ISSUES = (
    "SELECT COUNT(*) FROM security_events WHERE source='github_scanner' AND severity IN "
    "('critical', 'high') AND created_at > NOW() - INTERVAL '24 hours'"
)
COMPLIANCE = (
    "SELECT cf.name, ca.status, COUNT(*) FROM compliance_assessments ca JOIN "
    "compliance_controls cc ON ca.control_id = cc.id JOIN compliance_frameworks cf ON "
    "cc.framework_id = cf.id GROUP BY cf.name, ca.status"
)


@pytest.fixture
async def store(postgres_url: str) -> AsyncIterator[AlertStore]:
    await drop_bridge_tables(postgres_url)
    opened = await open_store(postgres_url)
    yield opened
    await opened.close()


async def _seed(store: AlertStore, url: str) -> None:
    now = datetime.now(UTC)
    payload = make_payload(
        make_alert("a", severity="critical"),
        make_alert("b", severity="low"),
        make_alert("c", severity="low"),
    )
    body = json.dumps(payload).encode()
    receipts = await record_and_process(
        store, to_delivery(parse_payload(body), body, received_at=now - timedelta(hours=1))
    )
    resolve = Transition(receipts[2].instance_id, "resolve", "alice", now)
    await store.transition(resolve)
    connection = await asyncpg.connect(url)
    try:
        await connection.execute(
            """
            INSERT INTO assets (platform, asset_id, criticality, security_score, updated_at)
            VALUES ('kong', 'edge', 'critical', 60, now()), ('kong', 'int', 'low', 90, now()),
                   ('github', 'acme/app', 'high', 10, now());
            INSERT INTO security_events (source, event_type, severity, created_at) VALUES
                ('github_scanner', 'unpinned_action', 'high', now() - interval '1 hour'),
                ('github_scanner', 'secret_in_log', 'critical', now() - interval '2 hours'),
                ('github_scanner', 'old', 'critical', now() - interval '3 days'),
                ('github_scanner', 'style', 'low', now());
            INSERT INTO compliance_frameworks (name) VALUES ('PCI_DSS'), ('SOC2');
            INSERT INTO compliance_controls (framework_id, control_ref)
                SELECT id, '1.1' FROM compliance_frameworks;
            INSERT INTO compliance_assessments (control_id, status, assessed_at)
                SELECT id, 'compliant', now() FROM compliance_controls;
            INSERT INTO compliance_assessments (control_id, status, assessed_at)
                SELECT cc.id, 'non_compliant', now() FROM compliance_controls cc
                JOIN compliance_frameworks cf ON cf.id = cc.framework_id
                WHERE cf.name = 'PCI_DSS';
            """
        )
    finally:
        await connection.close()


async def _run(url: str, sql: str) -> list[tuple[Any, ...]]:
    connection = await asyncpg.connect(url)
    try:
        return sorted(tuple(row) for row in await connection.fetch(sql))
    finally:
        await connection.close()


async def test_every_seed_dashboard_query_runs_with_data(
    store: AlertStore, postgres_url: str
) -> None:
    await _seed(store, postgres_url)

    assert await _run(postgres_url, ACTIVE_BY_SEVERITY) == [("critical", 1), ("low", 1)]
    [(hour, count)] = await _run(postgres_url, VOLUME_TREND)
    assert (hour.minute, count) == (0, 3)
    [(severity, minutes)] = await _run(postgres_url, MTTR_BY_SEVERITY)
    assert severity == "low"
    assert 55 < float(minutes) < 65
    assert await _run(postgres_url, KONG_SCORE) == [(75.0,)]
    assert await _run(postgres_url, GITHUB_ISSUES) == [(2,)]
    assert await _run(postgres_url, COMPLIANCE) == [
        ("PCI_DSS", "compliant", 1),
        ("PCI_DSS", "non_compliant", 1),
        ("SOC2", "compliant", 1),
    ]


def dashboard_sql() -> list[tuple[str, str]]:
    """(panel title, query) of every SQL target of the provisioned dashboards."""
    found: list[tuple[str, str]] = []
    for path in sorted((REPO / "grafana" / "dashboards").glob("*.json")):
        for panel in json.loads(path.read_text(encoding="utf-8"))["panels"]:
            found.extend((panel["title"], t["rawSql"]) for t in panel["targets"] if "rawSql" in t)
    return found


async def test_every_dashboard_sql_panel_runs_and_shows_the_data(
    store: AlertStore, postgres_url: str
) -> None:
    await _seed(store, postgres_url)
    panels = dict(dashboard_sql())
    # The seed's panels carry the seed's queries, verbatim except the volume trend's fix.
    seed = {
        "Active Alerts by Severity": ACTIVE_BY_SEVERITY,
        "Mean Time to Resolution by Severity": MTTR_BY_SEVERITY,
        "Kong Security Score": KONG_SCORE,
        "GitHub Actions Security Issues": GITHUB_ISSUES,
        "Compliance Status by Framework": COMPLIANCE,
    }
    for title, query in seed.items():
        assert panels[title] == query, title
    for title, query in panels.items():
        assert await _run(postgres_url, query), f"{title!r} shows nothing for the seeded data"
    [(hour, count)] = await _run(postgres_url, panels["Alert Volume Trend (24h)"])
    assert (hour.minute, count) == (0, 3)


async def test_the_seed_volume_trend_query_is_not_valid_postgresql(
    store: AlertStore, postgres_url: str
) -> None:
    with pytest.raises(asyncpg.exceptions.GroupingError):
        await _run(postgres_url, VOLUME_TREND_SEED)


async def test_plain_tables_without_timescaledb(store: AlertStore, postgres_url: str) -> None:
    """TimescaleDB is not installed here: the migration detects that and keeps plain tables."""
    available = await _run(
        postgres_url, "SELECT count(*) FROM pg_available_extensions WHERE name = 'timescaledb'"
    )
    installed = await _run(
        postgres_url, "SELECT count(*) FROM pg_extension WHERE extname = 'timescaledb'"
    )
    kind = await _run(
        postgres_url, "SELECT relkind::text FROM pg_class WHERE relname = 'security_events'"
    )
    assert (available, installed, kind) == ([(0,)], [(0,)], [("r",)])
