"""Turning deliveries into the PostgreSQL statement's array arguments, and rows back into records.

The statement works on sets, so a group of deliveries is reduced to distinct payloads, receipts
and instances here; :func:`group_results` then maps the set-wise outcome back onto each alert of
each delivery in order, with the same meaning the SQLite store gives it alert by alert
(:func:`~bridge.store.base.results_in_order`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from bridge.frozen import frozen
from bridge.jsontext import loads
from bridge.store.base import (
    AlertStatus,
    Delivery,
    ReceiptOutcome,
    ReceiptResult,
    StoredAlert,
    results_in_order,
)
from bridge.store.rows import stored_alert as alert_from_row


@frozen
class DeliveryGroup:
    """A group of deliveries reduced for ``RECORD_DELIVERIES``.

    ``arguments``: the statement's positional arguments. ``first_receipt`` and
    ``first_instance``: the index of the first delivery carrying each receipt and each
    instance key, which :func:`group_results` needs to answer each delivery as if the group
    had been written one delivery after the other.
    """

    arguments: tuple[Any, ...]
    first_receipt: Mapping[tuple[str, datetime, str], int]
    first_instance: Mapping[tuple[str, datetime], int]


def group_arguments(deliveries: Sequence[Delivery]) -> DeliveryGroup:
    """The group's distinct payloads in arrival order, and its distinct receipts and instance
    keys sorted for a stable lock order.

    Identical bodies (an HA pair's twin deliveries) become one payload row received ``n``
    times; a receipt carried by several deliveries is one row, first stored with the first
    payload that carried it, as if the deliveries had been written one after the other.
    """
    payloads: dict[str, list[Any]] = {}
    receipts: dict[tuple[str, datetime, str], list[Any]] = {}
    first_instance: dict[tuple[str, datetime], int] = {}
    for index, delivery in enumerate(deliveries):
        at = delivery.received_at
        payload = payloads.get(delivery.sha256)
        if payload is None:
            payloads[delivery.sha256] = [delivery, 1, at, at]
        else:
            payload[1] += 1
            payload[3] = max(payload[3], at)
        for alert in delivery.alerts:
            key = alert.receipt_key
            receipt = receipts.get(key)
            if receipt is None:
                receipts[key] = [1, delivery.sha256, at, at, index]
            else:
                receipt[0] += 1
                receipt[3] = max(receipt[3], at)
            first_instance.setdefault(alert.instance_key, index)
    shas = list(payloads)  # in arrival order: payload ids follow it
    firsts = [payloads[sha][0] for sha in shas]
    receipt_keys = sorted(receipts)
    instances = sorted(first_instance)
    arguments = (
        shas,
        [d.group_key for d in firsts],
        [d.receiver for d in firsts],
        [d.status for d in firsts],
        [d.truncated_alerts for d in firsts],
        [len(d.alerts) for d in firsts],
        [d.body for d in firsts],
        [payloads[sha][1] for sha in shas],
        [payloads[sha][2] for sha in shas],
        [payloads[sha][3] for sha in shas],
        [key[0] for key in receipt_keys],
        [key[1] for key in receipt_keys],
        [key[2] for key in receipt_keys],
        *([receipts[key][i] for key in receipt_keys] for i in range(4)),
        [key[0] for key in instances],
        [key[1] for key in instances],
    )
    first_receipt = {key: receipt[4] for key, receipt in receipts.items()}
    return DeliveryGroup(arguments, first_receipt, first_instance)


def group_results(
    deliveries: Sequence[Delivery], group: DeliveryGroup, rows: Sequence[Mapping[str, Any]]
) -> list[list[ReceiptResult]]:
    """Each delivery's results, in alert order, from the statement's per-receipt rows.

    Only the first delivery of the group that carries a receipt stored it; only the first that
    carries an instance's key can have created it. Later ones see what they would have seen had
    the group's deliveries been written one at a time: a re-sent receipt, a known instance.
    """
    stored = {(row["fingerprint"], row["starts_at"], row["status"]): row for row in rows}
    results: list[list[ReceiptResult]] = []
    for index, delivery in enumerate(deliveries):
        outcomes: dict[tuple[str, datetime, AlertStatus], ReceiptOutcome] = {}
        for alert in delivery.alerts:
            key = alert.receipt_key
            row = stored.get(key)
            if row is None or key in outcomes:
                continue  # results_in_order says which receipt is missing
            outcomes[key] = ReceiptOutcome(
                int(row["instance_id"]),
                bool(row["inserted"]) and group.first_receipt[key] == index,
                bool(row["created"]) and group.first_instance[alert.instance_key] == index,
            )
        results.append(results_in_order(delivery, outcomes))
    return results


def _json(value: Any) -> Any:
    # The jsonb codec decodes JSON columns; text that holds JSON (none today) would be parsed.
    return loads(value) if isinstance(value, str) else value


def _time(value: Any) -> datetime | None:
    return value if value is None or isinstance(value, datetime) else None


def stored_alert(row: Mapping[str, Any]) -> StoredAlert:
    return alert_from_row(row, time=_time, json=_json)
