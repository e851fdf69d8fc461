"""PostgreSQL side of :mod:`bridge.store.pending`: claim unprocessed receipts with a lease."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from bridge.store.pending import PendingDelivery, rebuild

# SKIP LOCKED: replicas sweeping at the same moment claim disjoint receipts instead of waiting.
# A receipt with no lease yet belongs to the replica that received it until first_received_at
# plus the lease ($2), so a sweep never takes work still queued in that replica's memory.
_CLAIM = """
WITH claimed AS (
    UPDATE pending_receipts r SET claimed_until = $1::timestamptz + make_interval(secs => $3)
    FROM (
        SELECT fingerprint, starts_at, status FROM pending_receipts
        WHERE (claimed_until IS NULL AND first_received_at < $2) OR claimed_until < $1
        ORDER BY first_received_at
        LIMIT $4
        FOR UPDATE SKIP LOCKED
    ) k
    WHERE r.fingerprint = k.fingerprint AND r.starts_at = k.starts_at AND r.status = k.status
    RETURNING r.fingerprint, r.starts_at, r.status, r.payload_id, r.first_received_at
)
-- The instance id: the stored instance's, if a write created it already, else the one the
-- receipt was given. ``created``: the instance's first receipt, with no instance written yet
-- (or one its receiver wrote before migration 0013, never classified).
SELECT c.fingerprint, c.starts_at, c.status, c.payload_id, p.sha256, p.received_at,
       p.payload AS body, coalesce(a.id, r.instance_id) AS instance_id,
       (a.id IS NULL OR a.classified_at IS NULL)
       AND NOT EXISTS (SELECT 1 FROM alert_receipts o
                       WHERE o.fingerprint = c.fingerprint AND o.starts_at = c.starts_at
                         AND (o.first_received_at, o.status) < (c.first_received_at, c.status))
           AS created
FROM claimed c
JOIN webhook_payloads p ON p.id = c.payload_id
JOIN alert_receipts r ON r.fingerprint = c.fingerprint AND r.starts_at = c.starts_at
                     AND r.status = c.status
LEFT JOIN alert_instances a ON a.fingerprint = c.fingerprint AND a.starts_at = c.starts_at
ORDER BY c.payload_id, c.fingerprint, c.starts_at, c.status
"""


async def claim_unprocessed(
    connection: Any, now: datetime, lease: timedelta, limit: int
) -> list[PendingDelivery]:
    rows = await connection.fetch(_CLAIM, now, now - lease, lease.total_seconds(), limit)
    return rebuild(dict(row) for row in rows)
