"""Plain-text and JSON renderings of a notification that several channels share."""

from __future__ import annotations

from typing import Any

from bridge.notify.base import Notification


def text_lines(notification: Notification) -> list[str]:
    """The notification as labelled lines (email text part, SMS, webhook ``text``)."""
    n = notification
    lines = [f"[{n.severity.upper()}] {n.display_title}", ""]
    if n.message:
        lines += [n.message, ""]
    for label, value in (("Asset", n.asset), ("Rule", n.rule_id), ("Category", n.category)):
        if value:
            lines.append(f"{label}: {value}")
    lines.append(f"Alert: {n.alert_id}")
    if n.remediation:
        lines += ["", "Remediation:", n.remediation]
    if n.links:
        lines += ["", *[f"{link.title}: {link.url}" for link in n.links]]
    return lines


def as_dict(notification: Notification) -> dict[str, Any]:
    """A stable JSON document for machine receivers (webhook body, PagerDuty/Opsgenie details)."""
    n = notification
    return {
        "alert_id": n.alert_id,
        "title": n.title,
        "display_title": n.display_title,
        "message": n.message,
        "severity": n.severity,
        "state": n.state,
        "asset": n.asset,
        "rule_id": n.rule_id,
        "category": n.category,
        "remediation": n.remediation,
        "links": [{"title": link.title, "url": link.url} for link in n.links],
        "escalation_level": n.escalation_level,
        "recipients": list(n.recipients),
        "dedup_key": n.key,
    }
