"""SQLite side of :mod:`bridge.store.pending`: claim unprocessed receipts with a lease."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from bridge.store.pending import PendingDelivery, rebuild
from bridge.store.sqlite_sql import from_text, to_text

# A receipt with no lease yet belongs to the process that received it until
# first_received_at plus the lease, so a sweep never takes work still queued in memory.
_CLAIM = """
UPDATE pending_receipts SET claimed_until = ?
WHERE (fingerprint, starts_at, status) IN (
    SELECT fingerprint, starts_at, status FROM pending_receipts
    WHERE (claimed_until IS NULL AND first_received_at < ?) OR claimed_until < ?
    ORDER BY first_received_at
    LIMIT ?
)
RETURNING fingerprint, starts_at, status, payload_id, first_received_at
"""

_DETAILS = """
SELECT p.sha256, p.group_key, p.receiver, p.status, p.truncated_alerts, p.received_at,
       a.id, a.labels, a.annotations, a.ends_at, a.generator_url,
       NOT EXISTS (SELECT 1 FROM alert_receipts o
                   WHERE o.fingerprint = a.fingerprint AND o.starts_at = a.starts_at
                     AND (o.first_received_at < ? OR (o.first_received_at = ? AND o.status < ?)))
FROM webhook_payloads p, alert_instances a
WHERE p.id = ? AND a.fingerprint = ? AND a.starts_at = ?
"""


def claim_unprocessed(
    connection: sqlite3.Connection, now: datetime, lease: timedelta, limit: int
) -> list[PendingDelivery]:
    """Claim and rebuild; the caller (the writer thread) owns the transaction."""
    claimed = connection.execute(
        _CLAIM, (to_text(now + lease), to_text(now - lease), to_text(now), limit)
    ).fetchall()
    rows: list[dict[str, Any]] = []
    for fingerprint, starts_at, status, payload_id, first in sorted(
        claimed, key=lambda r: (r[3], r[0], r[1], r[2])
    ):
        found = connection.execute(
            _DETAILS, (first, first, status, payload_id, fingerprint, starts_at)
        ).fetchone()
        if found is None:
            continue
        (sha256, group_key, receiver, payload_status, truncated, received_at, instance_id,
         labels, annotations, ends_at, generator_url, created) = found  # fmt: skip
        rows.append(
            {
                "fingerprint": fingerprint,
                "starts_at": from_text(starts_at),
                "status": status,
                "payload_id": payload_id,
                "sha256": sha256,
                "group_key": group_key,
                "receiver": receiver,
                "payload_status": payload_status,
                "truncated_alerts": truncated,
                "received_at": from_text(received_at),
                "instance_id": instance_id,
                "labels": json.loads(labels),
                "annotations": json.loads(annotations),
                "ends_at": from_text(ends_at),
                "generator_url": generator_url,
                "created": created,
            }
        )
    return rebuild(rows)


def mark_processed(
    connection: sqlite3.Connection, keys: Sequence[tuple[str, datetime, str]]
) -> int:
    """Mark receipts processed (drop their pending rows); how many were still pending."""
    before = connection.total_changes
    connection.executemany(
        "DELETE FROM pending_receipts WHERE fingerprint = ? AND starts_at = ? AND status = ?",
        [(f, to_text(s), st) for f, s, st in keys],
    )
    return connection.total_changes - before
