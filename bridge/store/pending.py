"""Receipts the pipeline has not processed yet: how the recovery sweep finds and rebuilds them.

The receiver answers Alertmanager once a delivery is stored; the pipeline runs afterwards in
:mod:`bridge.pipeline.worker`. Each new receipt (fingerprint, startsAt, status) is one unit of
pipeline work: the receiver adds a ``pending_receipts`` row for it, and the pipeline's write
deletes that row in the same transaction. It is a table of its own so that Alertmanager's
re-sends, which update ``alert_receipts`` counters, never wait for a pipeline write. A receipt
left unprocessed (the process died, a stage failed, the queue was full) is claimed by
a sweep with a lease, so among several replicas one processes it, and rebuilt here into the
delivery and receipts the stages expect.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, cast

from bridge.store.base import AlertStatus, Delivery, IncomingAlert, ReceiptResult, StoreError

ReceiptKey = tuple[str, datetime, str]  # (fingerprint, startsAt, status): one unit of work


class AlreadyProcessed(StoreError):
    """Another worker processed these receipts first; this pipeline write was rolled back."""


@dataclass(frozen=True, slots=True)
class PendingDelivery:
    """Claimed unprocessed receipts of one stored payload, as the pipeline's input."""

    delivery: Delivery
    receipts: list[ReceiptResult]


def rebuild(rows: Iterable[Mapping[str, Any]]) -> list[PendingDelivery]:
    """Group claimed receipt rows (decoded to Python values) by payload, in row order.

    Each row holds the receipt (``fingerprint``, ``starts_at``, ``status``, ``created``), its
    payload (``payload_id``, ``sha256``, ``group_key``, ``receiver``, ``payload_status``,
    ``truncated_alerts``, ``received_at``) and its instance (``instance_id``, ``labels``,
    ``annotations``, ``ends_at``, ``generator_url``). The raw body is not needed by any stage.
    """
    grouped: dict[int, tuple[Mapping[str, Any], list[ReceiptResult]]] = {}
    for row in rows:
        status = cast("AlertStatus", row["status"])
        alert = IncomingAlert(
            fingerprint=row["fingerprint"],
            status=status,
            starts_at=row["starts_at"],
            ends_at=row["ends_at"],
            labels=row["labels"],
            annotations=row["annotations"],
            generator_url=row["generator_url"] or "",
        )
        receipt = ReceiptResult(
            alert,
            int(row["instance_id"]),
            duplicate=False,
            created=bool(row["created"]),
            resolved=status == "resolved",
        )
        grouped.setdefault(int(row["payload_id"]), (row, []))[1].append(receipt)
    return [
        PendingDelivery(
            Delivery(
                body="",
                sha256=row["sha256"],
                group_key=row["group_key"],
                receiver=row["receiver"],
                status=cast("AlertStatus", row["payload_status"]),
                truncated_alerts=int(row["truncated_alerts"]),
                received_at=row["received_at"],
                alerts=[r.alert for r in receipts],
            ),
            receipts,
        )
        for row, receipts in grouped.values()
    ]
