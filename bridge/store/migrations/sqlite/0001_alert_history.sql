-- Alert history for the embedded SQLite store.
-- Timestamps are UTC ISO 8601 text with a fixed width (YYYY-MM-DDTHH:MM:SS.ffffffZ), so text
-- order is time order. JSON columns hold JSON text.

-- Every webhook body, verbatim (unknown fields included); identical bodies (HA replicas,
-- retries) share one row and bump received_count.
CREATE TABLE webhook_payloads (
    id               INTEGER PRIMARY KEY,
    sha256           TEXT    NOT NULL UNIQUE,
    group_key        TEXT    NOT NULL,
    receiver         TEXT    NOT NULL,
    status           TEXT    NOT NULL,
    truncated_alerts INTEGER NOT NULL,
    alert_count      INTEGER NOT NULL,
    payload          TEXT    NOT NULL,
    received_count   INTEGER NOT NULL DEFAULT 1,
    received_at      TEXT    NOT NULL,
    last_received_at TEXT    NOT NULL
);
CREATE INDEX webhook_payloads_group_key ON webhook_payloads (group_key, received_at);

-- One row per alert instance: a fingerprint firing from one startsAt until it resolves.
-- AUTOINCREMENT so ids are never reused: API cursors and external references stay valid.
CREATE TABLE alert_instances (
    id               INTEGER PRIMARY KEY AUTOINCREMENT,
    fingerprint      TEXT    NOT NULL,
    rule_id          TEXT,
    alertname        TEXT,
    title            TEXT,
    severity         TEXT,
    category         TEXT,
    status           TEXT    NOT NULL CHECK (status IN ('firing', 'resolved')),
    asset_id         TEXT,
    environment      TEXT,
    labels           TEXT    NOT NULL,
    annotations      TEXT    NOT NULL,
    generator_url    TEXT    NOT NULL DEFAULT '',
    starts_at        TEXT    NOT NULL,
    ends_at          TEXT,
    occurrence_count INTEGER NOT NULL DEFAULT 1,
    created_at       TEXT    NOT NULL,
    updated_at       TEXT    NOT NULL,
    acknowledged_at  TEXT,
    resolved_at      TEXT,
    UNIQUE (fingerprint, starts_at)
);
CREATE INDEX alert_instances_status ON alert_instances (status, id);
CREATE INDEX alert_instances_severity ON alert_instances (severity, id);
CREATE INDEX alert_instances_rule_id ON alert_instances (rule_id, id);

-- One row per distinct (fingerprint, startsAt, status) ever received: the idempotency key.
CREATE TABLE alert_receipts (
    fingerprint       TEXT    NOT NULL,
    starts_at         TEXT    NOT NULL,
    status            TEXT    NOT NULL CHECK (status IN ('firing', 'resolved')),
    payload_id        INTEGER NOT NULL REFERENCES webhook_payloads (id),
    received_count    INTEGER NOT NULL DEFAULT 1,
    first_received_at TEXT    NOT NULL,
    last_received_at  TEXT    NOT NULL,
    PRIMARY KEY (fingerprint, starts_at, status)
) WITHOUT ROWID;
