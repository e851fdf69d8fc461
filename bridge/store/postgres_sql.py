"""SQL for the PostgreSQL store.

Deliveries are recorded by one statement (data-modifying CTEs over ``unnest``ed arrays): one
network round trip and one implicit transaction per group of webhooks (see
:mod:`bridge.store.group_commit`), however many alerts they carry. It stores the payloads and
the receipts; the pipeline's write creates the alert instances.
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

# A group of deliveries (bridge.store.group_commit), reduced to distinct rows by
# bridge.store.postgres_rows.group_arguments:
# $1-$10: distinct payloads in arrival order (sha256, group key, receiver, status, truncated
#         alerts, alert count, the raw body as received, times
#         received, first and last receive time).
# $11-$17: distinct receipts (fingerprint, starts_at, status, multiplicity, the sha256 of the
#          first payload carrying it, first and last receive time).
# $18-$19: distinct instance keys (fingerprint, starts_at).
#
# Receipts only: the pipeline's write creates the alert instance, classified. A receipt of a
# known instance (its other status was received before) carries that instance's id; a new
# instance gets the next id of alert_instances' identity sequence. Two statements racing
# with the same new receipt agree through ON CONFLICT (the loser gets the stored row's id);
# two racing with a new instance's firing and resolved receipts both allocate, and the
# pipeline's write, which creates one row per (fingerprint, startsAt), sorts it out.
# Receipts are written in key order, so two replicas' statements take their row locks in the
# same order. Payloads are written in arrival order instead (their ids are the recovery
# sweep's replay order); two replicas' groups that hold the same two bodies in opposite
# orders (the same payloads delivered to both replicas at once) can then wait for each
# other. PostgreSQL's deadlock check ends that after deadlock_timeout by rolling one
# statement back, and the store runs it again (PostgresStore._record_group), so both groups'
# webhooks get their 200.
RECORD_DELIVERIES = """
WITH payload AS (
    INSERT INTO webhook_payloads AS p (sha256, group_key, receiver, status, truncated_alerts,
                                       alert_count, payload, received_count, received_at,
                                       last_received_at)
    SELECT d.sha256, d.group_key, d.receiver, d.status, d.truncated_alerts, d.alert_count,
           d.body, d.n, d.first_at, d.last_at
    FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::int[], $6::int[],
                $7::text[], $8::int[], $9::timestamptz[], $10::timestamptz[]) WITH ORDINALITY
         AS d (sha256, group_key, receiver, status, truncated_alerts, alert_count, body, n,
               first_at, last_at, arrival)
    ORDER BY d.arrival  -- payload ids follow arrival: the recovery sweep replays in id order
    ON CONFLICT (sha256) DO UPDATE SET received_count = p.received_count + EXCLUDED.received_count,
                                       last_received_at = EXCLUDED.last_received_at
    RETURNING p.id, p.sha256
), ids AS MATERIALIZED (
    SELECT k.fingerprint, k.starts_at, o.instance_id AS known_id,
           coalesce(o.instance_id, nextval('alert_instances_id_seq')) AS instance_id
    FROM unnest($18::text[], $19::timestamptz[]) AS k (fingerprint, starts_at)
    LEFT JOIN LATERAL (SELECT instance_id FROM alert_receipts o
                       WHERE o.fingerprint = k.fingerprint AND o.starts_at = k.starts_at
                       LIMIT 1) o ON true
), receipts AS (
    INSERT INTO alert_receipts AS r (fingerprint, starts_at, status, received_count, payload_id,
                                     first_received_at, last_received_at, instance_id)
    SELECT t.fingerprint, t.starts_at, t.status, t.n, p.id, t.first_at, t.last_at,
           i.instance_id
    FROM unnest($11::text[], $12::timestamptz[], $13::text[], $14::int[], $15::text[],
                $16::timestamptz[], $17::timestamptz[])
         AS t (fingerprint, starts_at, status, n, sha256, first_at, last_at)
    JOIN ids i ON i.fingerprint = t.fingerprint AND i.starts_at = t.starts_at
    JOIN payload p ON p.sha256 = t.sha256
    ORDER BY t.fingerprint, t.starts_at, t.status
    ON CONFLICT (fingerprint, starts_at, status) DO UPDATE
        SET received_count = r.received_count + EXCLUDED.received_count,
            last_received_at = EXCLUDED.last_received_at
    RETURNING r.fingerprint, r.starts_at, r.status, r.instance_id, r.payload_id,
              r.first_received_at, (r.xmax = 0) AS inserted
), pending AS (
    -- Work for the pipeline: one row per new receipt, deleted by the pipeline's write.
    INSERT INTO pending_receipts (fingerprint, starts_at, status, payload_id, first_received_at)
    SELECT fingerprint, starts_at, status, payload_id, first_received_at
    FROM receipts WHERE inserted
    ON CONFLICT DO NOTHING
)
SELECT r.fingerprint, r.starts_at, r.status, r.inserted, r.instance_id,
       r.inserted AND i.known_id IS NULL AS created
FROM receipts r
JOIN ids i ON i.fingerprint = r.fingerprint AND i.starts_at = r.starts_at
"""
