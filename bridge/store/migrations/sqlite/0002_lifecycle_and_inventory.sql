-- Issue 3: the alert lifecycle, classification and dedupe results, the per-alert timeline, and
-- the tables the seed's dashboards and the next pipeline stages read. Same shape as the
-- PostgreSQL migration; JSON as text, timestamps as fixed-width UTC text.

-- The seed's dashboards count `status = 'open'`, so `status` becomes the bridge's lifecycle
-- state; what Alertmanager last said (firing/resolved) moves to `am_status`.
ALTER TABLE alert_instances RENAME COLUMN status TO am_status;
ALTER TABLE alert_instances ADD COLUMN status TEXT NOT NULL DEFAULT 'open'
    CHECK (status IN ('open', 'acknowledged', 'resolved', 'suppressed'));
ALTER TABLE alert_instances ADD COLUMN base_severity TEXT;
ALTER TABLE alert_instances ADD COLUMN business_impact TEXT;
ALTER TABLE alert_instances ADD COLUMN urgency TEXT;
ALTER TABLE alert_instances ADD COLUMN confidence REAL;
ALTER TABLE alert_instances ADD COLUMN reasons TEXT NOT NULL DEFAULT '[]';
ALTER TABLE alert_instances ADD COLUMN enrichment TEXT NOT NULL DEFAULT '{}';
ALTER TABLE alert_instances ADD COLUMN classified_at TEXT;
ALTER TABLE alert_instances ADD COLUMN primary_id INTEGER REFERENCES alert_instances (id);
ALTER TABLE alert_instances ADD COLUMN dedupe_score REAL;
ALTER TABLE alert_instances ADD COLUMN last_occurrence_at TEXT;
ALTER TABLE alert_instances ADD COLUMN duplicates TEXT NOT NULL DEFAULT '[]';
ALTER TABLE alert_instances ADD COLUMN acknowledged_by TEXT;
ALTER TABLE alert_instances ADD COLUMN resolved_by TEXT;
ALTER TABLE alert_instances ADD COLUMN suppressed_at TEXT;
ALTER TABLE alert_instances ADD COLUMN suppressed_by TEXT;
ALTER TABLE alert_instances ADD COLUMN suppressed_until TEXT;
ALTER TABLE alert_instances ADD COLUMN silence_id TEXT;
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

CREATE TABLE alert_timeline (
    id       INTEGER PRIMARY KEY,
    alert_id INTEGER NOT NULL REFERENCES alert_instances (id),
    at       TEXT    NOT NULL,
    kind     TEXT    NOT NULL,
    actor    TEXT,
    message  TEXT    NOT NULL,
    detail   TEXT    NOT NULL DEFAULT '{}'
);
CREATE INDEX alert_timeline_alert ON alert_timeline (alert_id, id);

CREATE TABLE alert_occurrences (
    id          INTEGER PRIMARY KEY,
    alert_id    INTEGER NOT NULL REFERENCES alert_instances (id),
    am_status   TEXT    NOT NULL,
    starts_at   TEXT    NOT NULL,
    group_key   TEXT    NOT NULL,
    receiver    TEXT    NOT NULL,
    received_at TEXT    NOT NULL
);
CREATE INDEX alert_occurrences_alert ON alert_occurrences (alert_id, id);

CREATE TABLE security_events (
    id         INTEGER PRIMARY KEY,
    source     TEXT NOT NULL,
    event_type TEXT NOT NULL,
    severity   TEXT NOT NULL,
    platform   TEXT,
    asset_id   TEXT,
    title      TEXT NOT NULL DEFAULT '',
    details    TEXT NOT NULL DEFAULT '{}',
    created_at TEXT NOT NULL
);
CREATE INDEX security_events_source ON security_events (source, created_at);

CREATE TABLE assets (
    platform       TEXT NOT NULL,
    asset_id       TEXT NOT NULL,
    criticality    TEXT NOT NULL DEFAULT 'medium'
        CHECK (criticality IN ('low', 'medium', 'high', 'critical')),
    environment    TEXT,
    owner          TEXT,
    security_score REAL,
    updated_at     TEXT NOT NULL,
    PRIMARY KEY (platform, asset_id)
) WITHOUT ROWID;
CREATE INDEX assets_asset_id ON assets (asset_id);

CREATE TABLE compliance_frameworks (
    id          INTEGER PRIMARY KEY,
    name        TEXT NOT NULL UNIQUE,
    version     TEXT,
    description TEXT NOT NULL DEFAULT ''
);

CREATE TABLE compliance_controls (
    id           INTEGER PRIMARY KEY,
    framework_id INTEGER NOT NULL REFERENCES compliance_frameworks (id),
    control_ref  TEXT    NOT NULL,
    title        TEXT    NOT NULL DEFAULT '',
    UNIQUE (framework_id, control_ref)
);

CREATE TABLE compliance_assessments (
    id          INTEGER PRIMARY KEY,
    control_id  INTEGER NOT NULL REFERENCES compliance_controls (id),
    asset_id    TEXT,
    status      TEXT    NOT NULL
        CHECK (status IN ('compliant', 'non_compliant', 'partial', 'not_applicable')),
    evidence    TEXT    NOT NULL DEFAULT '{}',
    assessed_at TEXT    NOT NULL
);
CREATE INDEX compliance_assessments_control ON compliance_assessments (control_id);

CREATE TABLE escalations (
    id           INTEGER PRIMARY KEY,
    alert_id     INTEGER NOT NULL REFERENCES alert_instances (id),
    level        INTEGER NOT NULL,
    recipients   TEXT    NOT NULL DEFAULT '[]',
    channels     TEXT    NOT NULL DEFAULT '[]',
    message      TEXT    NOT NULL DEFAULT '',
    due_at       TEXT    NOT NULL,
    escalated_at TEXT,
    UNIQUE (alert_id, level)
);

CREATE TABLE notifications (
    id            INTEGER PRIMARY KEY,
    alert_id      INTEGER NOT NULL REFERENCES alert_instances (id),
    escalation_id INTEGER REFERENCES escalations (id),
    channel       TEXT    NOT NULL,
    recipient     TEXT    NOT NULL DEFAULT '',
    status        TEXT    NOT NULL DEFAULT 'pending'
        CHECK (status IN ('pending', 'sent', 'retrying', 'failed')),
    attempts      INTEGER NOT NULL DEFAULT 0,
    last_error    TEXT,
    created_at    TEXT    NOT NULL,
    sent_at       TEXT
);
CREATE INDEX notifications_alert ON notifications (alert_id, id);
