"""Turning deliveries into the PostgreSQL statement's array arguments, and rows back into records.

The statement works on sets, so a delivery is reduced to distinct receipts and distinct
instances here; :func:`receipt_results` then maps the set-wise outcome back onto each alert in
delivery order, with the same meaning the SQLite store gives it alert by alert
(:func:`~bridge.store.base.results_in_order`).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from bridge.jsontext import loads
from bridge.store.base import (
    Delivery,
    ReceiptOutcome,
    ReceiptResult,
    StoredAlert,
    results_in_order,
)
from bridge.store.rows import stored_alert as alert_from_row


def delivery_arguments(delivery: Delivery) -> tuple[Any, ...]:
    """Positional arguments for ``RECORD_DELIVERY``, rows sorted for a stable lock order."""
    receipts = Counter(alert.receipt_key for alert in delivery.alerts)
    receipt_keys = sorted(receipts)
    instance_keys = sorted({alert.instance_key for alert in delivery.alerts})
    return (
        delivery.sha256,
        delivery.group_key,
        delivery.receiver,
        delivery.status,
        delivery.truncated_alerts,
        len(delivery.alerts),
        delivery.body,
        delivery.received_at,
        [key[0] for key in receipt_keys],
        [key[1] for key in receipt_keys],
        [key[2] for key in receipt_keys],
        [receipts[key] for key in receipt_keys],
        [key[0] for key in instance_keys],
        [key[1] for key in instance_keys],
    )


def receipt_results(delivery: Delivery, rows: Sequence[Mapping[str, Any]]) -> list[ReceiptResult]:
    """One result per alert, in delivery order, from the statement's per-receipt rows."""
    outcomes = {
        (row["fingerprint"], row["starts_at"], row["status"]): ReceiptOutcome(
            int(row["instance_id"]), bool(row["inserted"]), bool(row["created"])
        )
        for row in rows
    }
    return results_in_order(delivery, outcomes)


def _json(value: Any) -> Any:
    # The jsonb codec decodes JSON columns; text that holds JSON (none today) would be parsed.
    return loads(value) if isinstance(value, str) else value


def _time(value: Any) -> datetime | None:
    return value if value is None or isinstance(value, datetime) else None


def stored_alert(row: Mapping[str, Any]) -> StoredAlert:
    return alert_from_row(row, time=_time, json=_json)
