"""SQLite side of :mod:`bridge.store.pending`: claim unprocessed receipts with a lease."""

from __future__ import annotations

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

# The instance id: the stored instance's, if a write created it already, else the one the
# receipt was given. ``created``: the instance's first receipt, with no instance written yet
# (or one its receiver wrote before migration 0011, never classified).
_DETAILS = """
SELECT p.sha256, p.received_at, p.payload, coalesce(a.id, r.instance_id),
       (a.id IS NULL OR a.classified_at IS NULL)
       AND NOT EXISTS (SELECT 1 FROM alert_receipts o
                       WHERE o.fingerprint = r.fingerprint AND o.starts_at = r.starts_at
                         AND (o.first_received_at < ?
                              OR (o.first_received_at = ? AND o.status < r.status)))
FROM alert_receipts r
JOIN webhook_payloads p ON p.id = ?
LEFT JOIN alert_instances a ON a.fingerprint = r.fingerprint AND a.starts_at = r.starts_at
WHERE r.fingerprint = ? AND r.starts_at = ? AND r.status = ?
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
            _DETAILS, (first, first, payload_id, fingerprint, starts_at, status)
        ).fetchone()
        if found is None:
            continue
        sha256, received_at, body, instance_id, created = found
        rows.append(
            {
                "fingerprint": fingerprint,
                "starts_at": from_text(starts_at),
                "status": status,
                "payload_id": payload_id,
                "sha256": sha256,
                "received_at": from_text(received_at),
                "body": body,
                "instance_id": instance_id,
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
