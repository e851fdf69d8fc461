"""Receipts the pipeline has not processed yet: how the recovery sweep finds and rebuilds them.

The receiver answers Alertmanager once a delivery is stored; the pipeline runs afterwards in
:mod:`bridge.pipeline.worker`. Each new receipt (fingerprint, startsAt, status) is one unit of
pipeline work: the receiver adds a ``pending_receipts`` row for it, and the pipeline's write
deletes that row in the same transaction. It is a table of its own so that Alertmanager's
re-sends, which update ``alert_receipts`` counters, never wait for a pipeline write. A receipt
left unprocessed (the process died, a stage failed, the queue was full) is claimed by
a sweep with a lease, so among several replicas one processes it, and rebuilt here into the
delivery and receipts the stages expect, from the raw body the receiver stored (the alert
instance does not exist before the pipeline's write).
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any, cast

from pydantic import ValidationError

from bridge.frozen import frozen
from bridge.store.base import AlertStatus, Delivery, IncomingAlert, ReceiptResult, StoreError

logger = logging.getLogger(__name__)

ReceiptKey = tuple[str, datetime, str]  # (fingerprint, startsAt, status): one unit of work


class AlreadyProcessed(StoreError):
    """Another worker processed these receipts first; this pipeline write was rolled back."""


class WriteConflict(StoreError):
    """A pipeline write ran into another pass's or replica's write of the same alert instance:
    it changes an instance (a resolution, a merge into a primary) that no committed write has
    created yet, or creates one that another receipt of the instance created first. Nothing
    was written; the receipts stay pending, and a later run (the recovery sweep at the latest)
    sees the other write and processes them against it."""


class NotYetVisible(WriteConflict):
    """The write changes a stored instance (merges a duplicate into it, or resolves it) that
    another pass or replica is creating and has not committed yet. Trying again moments later
    usually sees it: dedupe links an alert only to primaries registered before it, and a
    resolution depends on its firing, so such waits never go round in a circle."""


@frozen
class PendingDelivery:
    """Claimed unprocessed receipts of one stored payload, as the pipeline's input."""

    delivery: Delivery
    receipts: list[ReceiptResult]


def rebuild(rows: Iterable[Mapping[str, Any]]) -> list[PendingDelivery]:
    """Group claimed receipt rows (decoded to Python values) by payload, in row order.

    Each row holds the receipt (``fingerprint``, ``starts_at``, ``status``, ``instance_id``,
    ``created``) and its payload (``payload_id``, ``sha256``, ``received_at`` and ``body``,
    the raw webhook body). The alerts are parsed from the body again, as the receiver parsed them.
    A receipt whose body is gone is skipped and logged; it stays pending.
    """
    from bridge.alertmanager import parse_payload, to_delivery  # the pydantic models

    grouped: dict[int, tuple[Delivery, list[ReceiptResult]]] = {}
    alerts_by_payload: dict[int, dict[ReceiptKey, IncomingAlert]] = {}
    for row in rows:
        payload_id = int(row["payload_id"])
        if payload_id not in alerts_by_payload:
            body = row["body"].encode()
            try:
                parsed = to_delivery(parse_payload(body), body, received_at=row["received_at"])
            except ValidationError as exc:
                logger.error(
                    "pending receipts of payload %d cannot be rebuilt (body: %s); they stay "
                    "pending",
                    payload_id,
                    exc.errors(include_input=False)[0]["msg"],
                )
                alerts_by_payload[payload_id] = {}
                continue
            by_key: dict[ReceiptKey, IncomingAlert] = {}
            for one in parsed.alerts:
                by_key.setdefault(one.receipt_key, one)
            alerts_by_payload[payload_id] = by_key
            # The stages need no raw body; the digest is the stored one.
            grouped[payload_id] = (dataclasses.replace(parsed, body="", sha256=row["sha256"]), [])
        key: ReceiptKey = (row["fingerprint"], row["starts_at"], row["status"])
        found = alerts_by_payload[payload_id].get(key)
        if found is None:
            if alerts_by_payload[payload_id]:
                logger.error("pending receipt %s is not in its payload %d", key, payload_id)
            continue
        status = cast("AlertStatus", row["status"])
        grouped[payload_id][1].append(
            ReceiptResult(
                found,
                int(row["instance_id"]),
                duplicate=False,
                created=bool(row["created"]),
                resolved=status == "resolved",
            )
        )
    return [
        PendingDelivery(dataclasses.replace(delivery, alerts=[r.alert for r in receipts]), receipts)
        for delivery, receipts in grouped.values()
        if receipts
    ]
