"""Turning deliveries into the PostgreSQL statement's array arguments, and rows back into records.

The statement works on sets, so a delivery is reduced to distinct receipts and distinct
instances here; :func:`receipt_results` then maps the set-wise outcome back onto each alert in
delivery order, with the same meaning the SQLite store gives it alert by alert.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from bridge.jsontext import dumps, loads
from bridge.store.base import (
    AlertStatus,
    Delivery,
    IncomingAlert,
    ReceiptResult,
    StoredAlert,
    StoreError,
)
from bridge.store.rows import stored_alert as alert_from_row


def delivery_arguments(delivery: Delivery) -> tuple[Any, ...]:
    """Positional arguments for ``RECORD_DELIVERY``, rows sorted for a stable lock order."""
    receipts = Counter(alert.receipt_key for alert in delivery.alerts)
    receipt_keys = sorted(receipts)
    instances: dict[tuple[str, datetime], IncomingAlert] = {}
    for alert in delivery.alerts:
        chosen = instances.get(alert.instance_key)
        # A delivery that both fires and resolves an instance leaves it resolved.
        if chosen is None or (alert.status == "resolved" and chosen.status != "resolved"):
            instances[alert.instance_key] = alert
    chosen_alerts = [instances[key] for key in sorted(instances)]
    received = delivery.received_at
    return (
        delivery.sha256,
        delivery.group_key,
        delivery.receiver,
        delivery.status,
        delivery.truncated_alerts,
        len(delivery.alerts),
        delivery.body,
        received,
        [key[0] for key in receipt_keys],
        [key[1] for key in receipt_keys],
        [key[2] for key in receipt_keys],
        [receipts[key] for key in receipt_keys],
        [a.fingerprint for a in chosen_alerts],
        [a.starts_at for a in chosen_alerts],
        [a.status for a in chosen_alerts],
        [a.ends_at for a in chosen_alerts],
        [(a.ends_at or received) if a.status == "resolved" else None for a in chosen_alerts],
        [a.rule_id for a in chosen_alerts],
        [a.alertname for a in chosen_alerts],
        [a.title for a in chosen_alerts],
        [a.severity for a in chosen_alerts],
        [a.category for a in chosen_alerts],
        [a.asset_id for a in chosen_alerts],
        [a.environment for a in chosen_alerts],
        [dumps(dict(a.labels)) for a in chosen_alerts],
        [dumps(dict(a.annotations)) for a in chosen_alerts],
        [a.generator_url for a in chosen_alerts],
    )


def receipt_results(
    delivery: Delivery,
    rows: Sequence[Mapping[str, Any]],
    late_ids: Mapping[tuple[str, datetime], int],
) -> list[ReceiptResult]:
    """One result per alert, in delivery order, from the statement's per-receipt rows.

    ``late_ids`` holds instance ids the statement could not see (committed concurrently).
    """
    by_key = {(row["fingerprint"], row["starts_at"], row["status"]): row for row in rows}
    seen_receipts: set[tuple[str, datetime, AlertStatus]] = set()
    seen_instances: set[tuple[str, datetime]] = set()
    results: list[ReceiptResult] = []
    for alert in delivery.alerts:
        row = by_key.get(alert.receipt_key)
        instance_id = None if row is None else row["instance_id"]
        if instance_id is None:
            instance_id = late_ids.get(alert.instance_key)
        if row is None or instance_id is None:
            raise StoreError(f"alert {alert.fingerprint} was not recorded (store inconsistent)")
        new_receipt = row["inserted"] and alert.receipt_key not in seen_receipts
        first_of_instance = alert.instance_key not in seen_instances
        seen_receipts.add(alert.receipt_key)
        seen_instances.add(alert.instance_key)
        results.append(
            ReceiptResult(
                alert,
                int(instance_id),
                duplicate=not new_receipt,
                created=new_receipt and first_of_instance and bool(row["created"]),
                resolved=new_receipt and alert.status == "resolved" and bool(row["resolved"]),
            )
        )
    return results


def _json(value: Any) -> Any:
    # The jsonb codec decodes JSON columns; text that holds JSON (none today) would be parsed.
    return loads(value) if isinstance(value, str) else value


def _time(value: Any) -> datetime | None:
    return value if value is None or isinstance(value, datetime) else None


def stored_alert(row: Mapping[str, Any]) -> StoredAlert:
    return alert_from_row(row, time=_time, json=_json)
