"""Store records → the API's JSON (the shapes of :mod:`bridge.api.models`)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from bridge.store.base import StoredAlert
from bridge.store.records import AlertDetail


def time_json(value: datetime | None) -> str | None:
    return None if value is None else value.isoformat().replace("+00:00", "Z")


def alert_json(alert: StoredAlert) -> dict[str, Any]:
    return {
        "id": alert.id,
        "fingerprint": alert.fingerprint,
        "rule_id": alert.rule_id,
        "alertname": alert.alertname,
        "title": alert.title,
        "severity": alert.severity,
        "base_severity": alert.base_severity,
        "category": alert.category,
        "status": alert.status,
        "am_status": alert.am_status,
        "asset_id": alert.asset_id,
        "environment": alert.environment,
        "labels": dict(alert.labels),
        "annotations": dict(alert.annotations),
        "generator_url": alert.generator_url,
        "starts_at": time_json(alert.starts_at),
        "ends_at": time_json(alert.ends_at),
        "occurrence_count": alert.occurrence_count,
        "last_occurrence_at": time_json(alert.last_occurrence_at),
        "primary_id": alert.primary_id,
        "business_impact": alert.business_impact,
        "urgency": alert.urgency,
        "confidence": alert.confidence,
        "created_at": time_json(alert.created_at),
        "updated_at": time_json(alert.updated_at),
        "acknowledged_at": time_json(alert.acknowledged_at),
        "acknowledged_by": alert.acknowledged_by,
        "resolved_at": time_json(alert.resolved_at),
        "resolved_by": alert.resolved_by,
        "suppressed_at": time_json(alert.suppressed_at),
        "suppressed_by": alert.suppressed_by,
        "suppressed_until": time_json(alert.suppressed_until),
        "silence_id": alert.silence_id,
    }


def detail_json(detail: AlertDetail) -> dict[str, Any]:
    alert = detail.alert
    body = alert_json(alert)
    body["classification"] = (
        None
        if alert.classified_at is None
        else {
            "severity": alert.severity,
            "base_severity": alert.base_severity,
            "category": alert.category,
            "business_impact": alert.business_impact,
            "urgency": alert.urgency,
            "confidence": alert.confidence,
            "reasons": [dict(reason) for reason in alert.reasons],
            "enrichment": dict(alert.enrichment or {}),
            "classified_at": time_json(alert.classified_at),
        }
    )
    body["duplicates"] = [
        {
            "alert_id": d["alert_id"],
            "timestamp": d.get("timestamp"),
            "source": d.get("source"),
            "score": d.get("score"),
            "exact": d.get("exact"),
        }
        for d in alert.duplicates
    ]
    body["occurrences"] = [
        {
            "am_status": o.am_status,
            "starts_at": time_json(o.starts_at),
            "group_key": o.group_key,
            "receiver": o.receiver,
            "received_at": time_json(o.received_at),
        }
        for o in detail.occurrences
    ]
    body["timeline"] = [
        {
            "at": time_json(t.at),
            "kind": t.kind,
            "actor": t.actor,
            "message": t.message,
            "detail": dict(t.detail),
        }
        for t in detail.timeline
    ]
    return body
