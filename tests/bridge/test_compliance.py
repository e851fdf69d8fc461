"""Compliance assessments written by the pipeline from alerts of rules that name frameworks,
on both stores, and the seed's "Compliance Status by Framework" query over them."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from bridge.alertmanager import parse_payload, to_delivery
from bridge.pipeline.base import Batch
from bridge.pipeline.compliance import frameworks
from bridge.pipeline.lifecycle import processing_write
from bridge.store import AlertStore, open_store
from bridge.store.base import Delivery
from tests.bridge.helpers import execute, make_alert, make_payload, query

T0 = datetime(2026, 12, 2, 9, 0, tzinfo=UTC)
ACTIONS = json.dumps([{"trigger_compliance_check": {"framework": "AWS_Config_Rules"}}])
# The seed's panel query, as provisioned in grafana/dashboards.
PANEL = (
    "SELECT cf.name, ca.status, COUNT(*) FROM compliance_assessments ca "
    "JOIN compliance_controls cc ON ca.control_id = cc.id "
    "JOIN compliance_frameworks cf ON cc.framework_id = cf.id GROUP BY cf.name, ca.status "
    "ORDER BY 1, 2"
)


def test_frameworks_from_metadata_and_actions() -> None:
    annotations = {
        "compliance_frameworks": "SOC2, PCI_DSS,,SOC2",
        "actions": json.dumps(
            [
                "trigger_audit",
                {"trigger_compliance_check": {"framework": "AWS_Config_Rules"}},
                {"trigger_compliance_check": {"frameworks": ["CIS_AWS", 3]}},
                {"create_vulnerability_record": {"framework": "not this one"}},
            ]
        ),
    }
    assert frameworks(annotations) == ["AWS_Config_Rules", "CIS_AWS", "PCI_DSS", "SOC2"]


@pytest.mark.parametrize("actions", ["not json", '{"trigger_compliance_check": 1}', "[1, null]"])
def test_a_malformed_actions_annotation_is_ignored(actions: str) -> None:
    assert frameworks({"compliance_frameworks": "SOC2", "actions": actions}) == ["SOC2"]


def test_alerts_without_frameworks_assess_nothing() -> None:
    assert frameworks({"title": "t"}) == []


@pytest.fixture
async def store(database_url: str) -> AsyncIterator[AlertStore]:
    opened = await open_store(database_url)
    yield opened
    await opened.close()


def compliance_alert(fingerprint: str, asset: str, **fields: Any) -> dict[str, Any]:
    alert = make_alert(fingerprint, asset=asset, rule_id="aws_config_rule_noncompliant", **fields)
    alert["annotations"].update(
        {"compliance_frameworks": "CIS_AWS,SOC2", "actions": ACTIONS, "description": "Config"}
    )
    return alert


async def deliver(store: AlertStore, *alerts: dict[str, Any], at: datetime) -> None:
    body = json.dumps(make_payload(*alerts)).encode()
    stored = to_delivery(parse_payload(body), body, received_at=at)
    receipts = await store.record_delivery(stored)
    await store.apply_processing(processing_write([Batch(delivery=stored, receipts=receipts)]))


async def test_firing_then_resolved_alerts_keep_one_current_row_per_control_and_asset(
    store: AlertStore, database_url: str
) -> None:
    await deliver(
        store,
        compliance_alert("c1", "bucket-a"),
        compliance_alert("c2", "bucket-b"),
        make_alert("plain"),  # a rule without frameworks: nothing assessed
        at=T0,
    )
    assert await query(database_url, PANEL) == [
        ("AWS_Config_Rules", "non_compliant", 2),
        ("CIS_AWS", "non_compliant", 2),
        ("SOC2", "non_compliant", 2),
    ]
    resolved = compliance_alert("c1", "bucket-a", status="resolved", ends_at="2026-12-02T09:05:00Z")
    await deliver(store, resolved, at=T0 + timedelta(minutes=5))
    await deliver(store, resolved, at=T0 + timedelta(minutes=6))  # a re-send changes nothing
    assert await query(database_url, PANEL) == [
        ("AWS_Config_Rules", "compliant", 1),
        ("AWS_Config_Rules", "non_compliant", 1),
        ("CIS_AWS", "compliant", 1),
        ("CIS_AWS", "non_compliant", 1),
        ("SOC2", "compliant", 1),
        ("SOC2", "non_compliant", 1),
    ]
    controls = await query(
        database_url,
        "SELECT cf.name, cc.control_ref, cc.title FROM compliance_controls cc "
        "JOIN compliance_frameworks cf ON cf.id = cc.framework_id ORDER BY 1",
    )
    assert controls == [
        ("AWS_Config_Rules", "aws_config_rule_noncompliant", "Config"),
        ("CIS_AWS", "aws_config_rule_noncompliant", "Config"),
        ("SOC2", "aws_config_rule_noncompliant", "Config"),
    ]
    rows = await query(
        database_url,
        "SELECT asset_id, status, source, evidence FROM compliance_assessments "
        "WHERE asset_id = 'bucket-a' ORDER BY control_id",
    )
    assert {(asset, status, source) for asset, status, source, _ in rows} == {
        ("bucket-a", "compliant", "secmon")
    }
    evidence = json.loads(rows[0][3]) if isinstance(rows[0][3], str) else rows[0][3]
    assert evidence["fingerprint"] == "c1"
    assert evidence["alertmanager_status"] == "resolved"


async def test_rows_of_other_tools_are_left_alone(store: AlertStore, database_url: str) -> None:
    await deliver(store, compliance_alert("c1", "bucket-a"), at=T0)
    # An operator's own assessment of the same control and asset, not written by secmon.
    await execute(
        database_url,
        "INSERT INTO compliance_assessments (control_id, asset_id, status, assessed_at) "
        "SELECT id, 'bucket-a', 'partial', '2026-12-01T00:00:00Z' FROM compliance_controls",
    )
    resolved = compliance_alert("c1", "bucket-a", status="resolved", ends_at="2026-12-02T09:05:00Z")
    await deliver(store, resolved, at=T0 + timedelta(minutes=5))
    counts = await query(
        database_url,
        "SELECT status, count(*) FROM compliance_assessments GROUP BY status ORDER BY 1",
    )
    assert counts == [("compliant", 3), ("partial", 3)]


async def test_an_older_delivery_does_not_overwrite_a_newer_assessment(
    store: AlertStore, database_url: str
) -> None:
    firing = stored(compliance_alert("c1", "bucket-a"), at=T0)
    # A later instance of the same alert (it fired again and resolved) on the same asset.
    resolved = stored(
        compliance_alert("c1", "bucket-a", status="resolved", starts_at="2026-12-02T09:02:00Z",
                         ends_at="2026-12-02T09:05:00Z"),
        at=T0 + timedelta(minutes=5),
    )  # fmt: skip
    batches = [
        Batch(delivery=d, receipts=await store.record_delivery(d)) for d in (firing, resolved)
    ]
    # The pipeline finishes the later delivery first; the earlier one comes back later (a
    # recovery sweep after a crash) and must not make the control non-compliant again.
    await store.apply_processing(processing_write([batches[1]]))
    await store.apply_processing(processing_write([batches[0]]))
    statuses = await query(database_url, "SELECT DISTINCT status FROM compliance_assessments")
    assert statuses == [("compliant",)]


def stored(alert: dict[str, Any], *, at: datetime) -> Delivery:
    body = json.dumps(make_payload(alert)).encode()
    return to_delivery(parse_payload(body), body, received_at=at)
