"""SQL for the PostgreSQL store.

A delivery is recorded by one statement (data-modifying CTEs over ``unnest``ed arrays): one
network round trip and one implicit transaction per webhook, however many alerts it carries.
It stores the payload and the receipts; the pipeline's write creates the alert instances.
``xmax = 0`` in ``RETURNING`` tells a freshly inserted row from one updated by ``ON CONFLICT``
(an updated row carries the updating transaction's id in ``xmax``).
"""

from __future__ import annotations

SCHEMA_LOCK_KEY = 0x5EC_B21D6E  # pg_advisory_xact_lock key: replicas migrate one at a time

CREATE_SCHEMA_MIGRATIONS = """
CREATE TABLE IF NOT EXISTS schema_migrations (
    version    INTEGER PRIMARY KEY,
    name       TEXT NOT NULL,
    applied_at TIMESTAMPTZ NOT NULL DEFAULT now()
)"""
SELECT_SCHEMA_VERSION = "SELECT coalesce(max(version), 0) FROM schema_migrations"
INSERT_SCHEMA_VERSION = "INSERT INTO schema_migrations (version, name) VALUES ($1, $2)"

# $1-$8: the payload ($7 is the raw body as text: the jsonb codec must not re-encode it).
# $9-$12: distinct receipts (fingerprint, starts_at, status, multiplicity).
# $13-$14: distinct instance keys (fingerprint, starts_at).
#
# Receipts only: the pipeline's write creates the alert instance, classified. A receipt of a
# known instance (its other status was received before) carries that instance's id; a new
# instance gets the next id of alert_instances' identity sequence. Two deliveries racing
# with the same new receipt agree through ON CONFLICT (the loser gets the stored row's id);
# two racing with a new instance's firing and resolved receipts both allocate, and the
# pipeline's write, which creates one row per (fingerprint, startsAt), sorts it out.
RECORD_DELIVERY = """
WITH payload AS (
    INSERT INTO webhook_payloads AS p (sha256, group_key, receiver, status, truncated_alerts,
                                       alert_count, payload, received_at, last_received_at)
    VALUES ($1, $2, $3, $4, $5, $6, $7::text::jsonb, $8, $8)
    ON CONFLICT (sha256) DO UPDATE SET received_count = p.received_count + 1,
                                       last_received_at = EXCLUDED.last_received_at
    RETURNING p.id
), ids AS MATERIALIZED (
    SELECT k.fingerprint, k.starts_at, o.instance_id AS known_id,
           coalesce(o.instance_id, nextval('alert_instances_id_seq')) AS instance_id
    FROM unnest($13::text[], $14::timestamptz[]) AS k (fingerprint, starts_at)
    LEFT JOIN LATERAL (SELECT instance_id FROM alert_receipts o
                       WHERE o.fingerprint = k.fingerprint AND o.starts_at = k.starts_at
                       LIMIT 1) o ON true
), receipts AS (
    INSERT INTO alert_receipts AS r (fingerprint, starts_at, status, received_count, payload_id,
                                     first_received_at, last_received_at, instance_id)
    SELECT t.fingerprint, t.starts_at, t.status, t.n, (SELECT id FROM payload), $8, $8,
           i.instance_id
    FROM unnest($9::text[], $10::timestamptz[], $11::text[], $12::int[])
         AS t (fingerprint, starts_at, status, n)
    JOIN ids i ON i.fingerprint = t.fingerprint AND i.starts_at = t.starts_at
    ORDER BY t.fingerprint, t.starts_at, t.status
    ON CONFLICT (fingerprint, starts_at, status) DO UPDATE
        SET received_count = r.received_count + EXCLUDED.received_count,
            last_received_at = EXCLUDED.last_received_at
    RETURNING r.fingerprint, r.starts_at, r.status, r.instance_id, (r.xmax = 0) AS inserted
), pending AS (
    -- Work for the pipeline: one row per new receipt, deleted by the pipeline's write.
    INSERT INTO pending_receipts (fingerprint, starts_at, status, payload_id, first_received_at)
    SELECT fingerprint, starts_at, status, (SELECT id FROM payload), $8
    FROM receipts WHERE inserted
    ON CONFLICT DO NOTHING
)
SELECT r.fingerprint, r.starts_at, r.status, r.inserted, r.instance_id,
       r.inserted AND i.known_id IS NULL AS created
FROM receipts r
JOIN ids i ON i.fingerprint = r.fingerprint AND i.starts_at = r.starts_at
"""
