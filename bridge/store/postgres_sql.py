"""SQL for the PostgreSQL store.

A delivery is recorded by one statement (data-modifying CTEs over ``unnest``ed arrays): one
network round trip and one implicit transaction per webhook, however many alerts it carries.
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
# $13-$27: distinct instances, each carrying the receipt status that would create or change it.
RECORD_DELIVERY = """
WITH payload AS (
    INSERT INTO webhook_payloads AS p (sha256, group_key, receiver, status, truncated_alerts,
                                       alert_count, payload, received_at, last_received_at)
    VALUES ($1, $2, $3, $4, $5, $6, $7::text::jsonb, $8, $8)
    ON CONFLICT (sha256) DO UPDATE SET received_count = p.received_count + 1,
                                       last_received_at = EXCLUDED.last_received_at
    RETURNING p.id
), receipts AS (
    INSERT INTO alert_receipts AS r (fingerprint, starts_at, status, received_count, payload_id,
                                     first_received_at, last_received_at)
    SELECT t.fingerprint, t.starts_at, t.status, t.n, (SELECT id FROM payload), $8, $8
    FROM unnest($9::text[], $10::timestamptz[], $11::text[], $12::int[])
         AS t (fingerprint, starts_at, status, n)
    ON CONFLICT (fingerprint, starts_at, status) DO UPDATE
        SET received_count = r.received_count + EXCLUDED.received_count,
            last_received_at = EXCLUDED.last_received_at
    RETURNING r.fingerprint, r.starts_at, r.status, (r.xmax = 0) AS inserted
), pending AS (
    -- Work for the pipeline: one row per new receipt, deleted by the pipeline's write.
    INSERT INTO pending_receipts (fingerprint, starts_at, status, payload_id, first_received_at)
    SELECT fingerprint, starts_at, status, (SELECT id FROM payload), $8
    FROM receipts WHERE inserted
    ON CONFLICT DO NOTHING
), instances AS (
    INSERT INTO alert_instances AS a (fingerprint, starts_at, am_status, status, ends_at,
                                      resolved_at, resolved_by, rule_id, alertname, title,
                                      severity, base_severity, category, asset_id,
                                      environment, labels, annotations, generator_url,
                                      created_at, updated_at)
    SELECT i.fingerprint, i.starts_at, i.status,
           CASE WHEN i.status = 'resolved' THEN 'resolved' ELSE 'open' END,
           i.ends_at, i.resolved_at,
           CASE WHEN i.status = 'resolved' THEN 'alertmanager' END, i.rule_id,
           i.alertname, i.title, i.severity, i.severity, i.category, i.asset_id, i.environment,
           i.labels::jsonb, i.annotations::jsonb, i.generator_url, $8, $8
    FROM unnest($13::text[], $14::timestamptz[], $15::text[], $16::timestamptz[],
                $17::timestamptz[], $18::text[], $19::text[], $20::text[], $21::text[],
                $22::text[], $23::text[], $24::text[], $25::text[], $26::text[], $27::text[])
         AS i (fingerprint, starts_at, status, ends_at, resolved_at, rule_id, alertname, title,
               severity, category, asset_id, environment, labels, annotations, generator_url)
    JOIN receipts r ON r.inserted AND r.fingerprint = i.fingerprint
                   AND r.starts_at = i.starts_at AND r.status = i.status
    ORDER BY i.fingerprint, i.starts_at
    -- Alertmanager's resolution ends an active alert; one a user suppressed (or resolved)
    -- keeps its lifecycle state and only learns that Alertmanager is done with it.
    ON CONFLICT (fingerprint, starts_at) DO UPDATE
        SET am_status = 'resolved', ends_at = EXCLUDED.ends_at,
            updated_at = EXCLUDED.updated_at,
            resolved_at = CASE WHEN a.status IN ('open', 'acknowledged')
                               THEN EXCLUDED.resolved_at ELSE a.resolved_at END,
            resolved_by = CASE WHEN a.status IN ('open', 'acknowledged')
                               THEN 'alertmanager' ELSE a.resolved_by END,
            status = CASE WHEN a.status IN ('open', 'acknowledged')
                          THEN 'resolved' ELSE a.status END
        WHERE EXCLUDED.am_status = 'resolved' AND a.am_status <> 'resolved'
    RETURNING a.id, a.fingerprint, a.starts_at, a.am_status, (a.xmax = 0) AS created
)
SELECT r.fingerprint, r.starts_at, r.status, r.inserted,
       coalesce(n.id, (SELECT e.id FROM alert_instances e
                       WHERE e.fingerprint = r.fingerprint AND e.starts_at = r.starts_at))
           AS instance_id,
       coalesce(n.created, false) AS created,
       n.id IS NOT NULL AND n.am_status = 'resolved' AS resolved
FROM receipts r
LEFT JOIN instances n ON n.fingerprint = r.fingerprint AND n.starts_at = r.starts_at
"""

# The statement reads existing instance ids through its start-of-statement snapshot; an instance
# committed by a concurrent delivery while this one waited on its row locks is not in it. Those
# few ids are looked up afterwards, with a fresh snapshot.
FIND_INSTANCE_IDS = """
SELECT a.id, a.fingerprint, a.starts_at
FROM alert_instances a
JOIN unnest($1::text[], $2::timestamptz[]) AS k (fingerprint, starts_at)
  ON a.fingerprint = k.fingerprint AND a.starts_at = k.starts_at
"""
