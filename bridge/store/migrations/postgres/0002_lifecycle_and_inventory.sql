-- Issue 3: the alert lifecycle, classification and dedupe results, the per-alert timeline, and
-- the tables the seed's dashboards and the next pipeline stages read.

-- The seed's dashboards count `status = 'open'`, so `status` becomes the bridge's lifecycle
-- state; what Alertmanager last said (firing/resolved) moves to `am_status`.
ALTER TABLE alert_instances RENAME COLUMN status TO am_status;
ALTER TABLE alert_instances
    ADD COLUMN status TEXT NOT NULL DEFAULT 'open'
        CHECK (status IN ('open', 'acknowledged', 'resolved', 'suppressed')),
    ADD COLUMN base_severity      TEXT,
    ADD COLUMN business_impact    TEXT,
    ADD COLUMN urgency            TEXT,
    ADD COLUMN confidence         DOUBLE PRECISION,
    ADD COLUMN reasons            JSONB NOT NULL DEFAULT '[]',
    ADD COLUMN enrichment         JSONB NOT NULL DEFAULT '{}',
    ADD COLUMN classified_at      TIMESTAMPTZ,
    ADD COLUMN primary_id         BIGINT REFERENCES alert_instances (id),
    ADD COLUMN dedupe_score       DOUBLE PRECISION,
    ADD COLUMN last_occurrence_at TIMESTAMPTZ,
    ADD COLUMN duplicates         JSONB NOT NULL DEFAULT '[]',
    ADD COLUMN acknowledged_by    TEXT,
    ADD COLUMN resolved_by        TEXT,
    ADD COLUMN suppressed_at      TIMESTAMPTZ,
    ADD COLUMN suppressed_by      TEXT,
    ADD COLUMN suppressed_until   TIMESTAMPTZ,
    ADD COLUMN silence_id         TEXT;
UPDATE alert_instances SET status = 'resolved', resolved_by = 'alertmanager'
WHERE am_status = 'resolved';
UPDATE alert_instances SET base_severity = severity;
DROP INDEX alert_instances_status;
CREATE INDEX alert_instances_status ON alert_instances (status, id);
CREATE INDEX alert_instances_asset ON alert_instances (asset_id, id);
CREATE INDEX alert_instances_created_at ON alert_instances (created_at);
CREATE INDEX alert_instances_history ON alert_instances (rule_id, asset_id, created_at);
-- The expiry sweep looks only at instances Alertmanager still calls firing.
CREATE INDEX alert_instances_am_firing ON alert_instances (id) WHERE am_status = 'firing';

-- What happened to an alert and who did it, oldest first.
CREATE TABLE alert_timeline (
    id       BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    alert_id BIGINT      NOT NULL REFERENCES alert_instances (id),
    at       TIMESTAMPTZ NOT NULL,
    kind     TEXT        NOT NULL,
    actor    TEXT,
    message  TEXT        NOT NULL,
    detail   JSONB       NOT NULL DEFAULT '{}'
);
CREATE INDEX alert_timeline_alert ON alert_timeline (alert_id, id);

-- One row per distinct receipt (fingerprint, startsAt, status) of an alert.
CREATE TABLE alert_occurrences (
    id          BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    alert_id    BIGINT      NOT NULL REFERENCES alert_instances (id),
    am_status   TEXT        NOT NULL,
    starts_at   TIMESTAMPTZ NOT NULL,
    group_key   TEXT        NOT NULL,
    receiver    TEXT        NOT NULL,
    received_at TIMESTAMPTZ NOT NULL
);
CREATE INDEX alert_occurrences_alert ON alert_occurrences (alert_id, id);

-- Normalized security events (exporter findings, anomalies); the time column is part of the
-- key so the table can become a TimescaleDB hypertable.
CREATE TABLE security_events (
    id         BIGINT GENERATED ALWAYS AS IDENTITY,
    source     TEXT        NOT NULL,
    event_type TEXT        NOT NULL,
    severity   TEXT        NOT NULL,
    platform   TEXT,
    asset_id   TEXT,
    title      TEXT        NOT NULL DEFAULT '',
    details    JSONB       NOT NULL DEFAULT '{}',
    created_at TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (id, created_at)
);
CREATE INDEX security_events_source ON security_events (source, created_at);

-- The asset inventory classification reads criticality from, and dashboards score.
CREATE TABLE assets (
    platform       TEXT        NOT NULL,
    asset_id       TEXT        NOT NULL,
    criticality    TEXT        NOT NULL DEFAULT 'medium'
        CHECK (criticality IN ('low', 'medium', 'high', 'critical')),
    environment    TEXT,
    owner          TEXT,
    security_score DOUBLE PRECISION,
    updated_at     TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (platform, asset_id)
);
CREATE INDEX assets_asset_id ON assets (asset_id);

CREATE TABLE compliance_frameworks (
    id          BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    name        TEXT NOT NULL UNIQUE,
    version     TEXT,
    description TEXT NOT NULL DEFAULT ''
);

CREATE TABLE compliance_controls (
    id           BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    framework_id BIGINT NOT NULL REFERENCES compliance_frameworks (id),
    control_ref  TEXT   NOT NULL,
    title        TEXT   NOT NULL DEFAULT '',
    UNIQUE (framework_id, control_ref)
);

CREATE TABLE compliance_assessments (
    id          BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    control_id  BIGINT      NOT NULL REFERENCES compliance_controls (id),
    asset_id    TEXT,
    status      TEXT        NOT NULL
        CHECK (status IN ('compliant', 'non_compliant', 'partial', 'not_applicable')),
    evidence    JSONB       NOT NULL DEFAULT '{}',
    assessed_at TIMESTAMPTZ NOT NULL
);
CREATE INDEX compliance_assessments_control ON compliance_assessments (control_id);

-- For the escalation engine (issue 6): one row per level reached, one per delivery attempt.
CREATE TABLE escalations (
    id           BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    alert_id     BIGINT      NOT NULL REFERENCES alert_instances (id),
    level        INTEGER     NOT NULL,
    recipients   JSONB       NOT NULL DEFAULT '[]',
    channels     JSONB       NOT NULL DEFAULT '[]',
    message      TEXT        NOT NULL DEFAULT '',
    due_at       TIMESTAMPTZ NOT NULL,
    escalated_at TIMESTAMPTZ,
    UNIQUE (alert_id, level)
);

CREATE TABLE notifications (
    id            BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    alert_id      BIGINT      NOT NULL REFERENCES alert_instances (id),
    escalation_id BIGINT REFERENCES escalations (id),
    channel       TEXT        NOT NULL,
    recipient     TEXT        NOT NULL DEFAULT '',
    status        TEXT        NOT NULL DEFAULT 'pending'
        CHECK (status IN ('pending', 'sent', 'retrying', 'failed')),
    attempts      INTEGER     NOT NULL DEFAULT 0,
    last_error    TEXT,
    created_at    TIMESTAMPTZ NOT NULL,
    sent_at       TIMESTAMPTZ
);
CREATE INDEX notifications_alert ON notifications (alert_id, id);
