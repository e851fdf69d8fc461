"""Compliance assessments from the alerts of rules that name compliance frameworks.

A compiled rule carries its metadata's ``compliance_frameworks`` as a comma-separated annotation
and its ``trigger_compliance_check`` actions (``framework:`` or ``frameworks:``) as JSON in the
``actions`` annotation. Each framework the alert names gets the rule as a control, assessed on
the alert's asset: ``non_compliant`` when the alert is created firing, ``compliant`` when
Alertmanager resolves it. The seed's "Compliance Status by Framework" panel counts these rows.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator, Mapping
from datetime import datetime
from typing import Any

from bridge.store.base import ReceiptResult
from bridge.store.records import ComplianceAssessment

logger = logging.getLogger(__name__)

ACTION = "trigger_compliance_check"


def frameworks(annotations: Mapping[str, str]) -> list[str]:
    """The frameworks an alert's annotations name, sorted, each once."""
    names = {n.strip() for n in annotations.get("compliance_frameworks", "").split(",")}
    names.update(_action_frameworks(annotations.get("actions", "")))
    return sorted(n for n in names if n)


def _action_frameworks(raw: str) -> Iterator[str]:
    if not raw:
        return
    try:
        actions: Any = json.loads(raw)
    except ValueError:
        logger.warning("ignoring an actions annotation that is not JSON: %.80s", raw)
        return
    for item in actions if isinstance(actions, list) else []:
        params = item.get(ACTION) if isinstance(item, dict) else None
        if not isinstance(params, dict):
            continue
        named = params.get("frameworks", [])
        for value in [params.get("framework"), *(named if isinstance(named, list) else [])]:
            if isinstance(value, str):
                yield value


def assessments(receipt: ReceiptResult, at: datetime) -> list[ComplianceAssessment]:
    """What one fresh receipt says about its rule's controls (nothing for other alerts)."""
    alert = receipt.alert
    if receipt.resolved:
        status = "compliant"
    elif receipt.created:
        status = "non_compliant"
    else:
        return []  # a later occurrence of an alert already assessed
    names = frameworks(alert.annotations)
    if not names:
        return []
    control = alert.rule_id or alert.labels.get("alertname", "unknown")
    title = alert.annotations.get("description") or alert.title or control
    evidence = {
        "alert_id": receipt.instance_id,
        "fingerprint": alert.fingerprint,
        "title": alert.title or "",
        "alertmanager_status": alert.status,
    }
    return [
        ComplianceAssessment(name, control, title, alert.asset_id or "", status, evidence, at)
        for name in names
    ]
