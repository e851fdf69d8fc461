-- Alert history for PostgreSQL. Plain tables; a later migration converts time-ordered tables
-- into TimescaleDB hypertables only where the extension is installed.

-- Every webhook body as JSON (unknown fields included); identical bodies (HA replicas,
-- retries) share one row and bump received_count.
CREATE TABLE webhook_payloads (
    id               BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    sha256           TEXT        NOT NULL UNIQUE,
    group_key        TEXT        NOT NULL,
    receiver         TEXT        NOT NULL,
    status           TEXT        NOT NULL,
    truncated_alerts INTEGER     NOT NULL,
    alert_count      INTEGER     NOT NULL,
    payload          JSONB       NOT NULL,
    received_count   INTEGER     NOT NULL DEFAULT 1,
    received_at      TIMESTAMPTZ NOT NULL,
    last_received_at TIMESTAMPTZ NOT NULL
);
CREATE INDEX webhook_payloads_group_key ON webhook_payloads (group_key, received_at);

-- One row per alert instance: a fingerprint firing from one startsAt until it resolves.
CREATE TABLE alert_instances (
    id               BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    fingerprint      TEXT        NOT NULL,
    rule_id          TEXT,
    alertname        TEXT,
    title            TEXT,
    severity         TEXT,
    category         TEXT,
    status           TEXT        NOT NULL CHECK (status IN ('firing', 'resolved')),
    asset_id         TEXT,
    environment      TEXT,
    labels           JSONB       NOT NULL,
    annotations      JSONB       NOT NULL,
    generator_url    TEXT        NOT NULL DEFAULT '',
    starts_at        TIMESTAMPTZ NOT NULL,
    ends_at          TIMESTAMPTZ,
    occurrence_count INTEGER     NOT NULL DEFAULT 1,
    created_at       TIMESTAMPTZ NOT NULL,
    updated_at       TIMESTAMPTZ NOT NULL,
    acknowledged_at  TIMESTAMPTZ,
    resolved_at      TIMESTAMPTZ,
    UNIQUE (fingerprint, starts_at)
);
CREATE INDEX alert_instances_status ON alert_instances (status, id);
CREATE INDEX alert_instances_severity ON alert_instances (severity, id);
CREATE INDEX alert_instances_rule_id ON alert_instances (rule_id, id);

-- One row per distinct (fingerprint, startsAt, status) ever received: the idempotency key.
CREATE TABLE alert_receipts (
    fingerprint       TEXT        NOT NULL,
    starts_at         TIMESTAMPTZ NOT NULL,
    status            TEXT        NOT NULL CHECK (status IN ('firing', 'resolved')),
    payload_id        BIGINT      NOT NULL REFERENCES webhook_payloads (id),
    received_count    INTEGER     NOT NULL DEFAULT 1,
    first_received_at TIMESTAMPTZ NOT NULL,
    last_received_at  TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (fingerprint, starts_at, status)
);
