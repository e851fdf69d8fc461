-- Durable escalation, the messages channels hold per alert, dead letters, and the
-- detail of each delivery attempt. Levels are claimed through UNIQUE (alert_id, level) of
-- `escalations` (0002): INSERT ... ON CONFLICT DO NOTHING RETURNING, and only the replica
-- whose row was inserted sends.

-- When the scheduler next has to look at an open alert: NULL means "from created_at" (so an
-- alert inserted by any code path is picked up), 'infinity' means "no level left".
-- The partial expression index makes a tick a short range scan over due open alerts only,
-- however many open alerts wait for later levels.
ALTER TABLE alert_instances ADD COLUMN escalation_next_at TIMESTAMPTZ;
CREATE INDEX alert_instances_escalation_due
    ON alert_instances ((COALESCE(escalation_next_at, created_at))) WHERE status = 'open';

-- The message each channel holds for an alert (Slack ts, PagerDuty dedup_key, ...), so an
-- acknowledgement or a resolution updates it instead of posting a new one.
CREATE TABLE notification_messages (
    alert_id   BIGINT      NOT NULL REFERENCES alert_instances (id),
    channel    TEXT        NOT NULL,
    ref        JSONB       NOT NULL,
    updated_at TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (alert_id, channel)
);

-- Deliveries that failed for good, with the exact payload to replay.
CREATE TABLE dead_letters (
    id         TEXT             PRIMARY KEY,
    channel    TEXT             NOT NULL,
    alert_id   TEXT             NOT NULL,
    payload    TEXT             NOT NULL,
    reason     TEXT             NOT NULL,
    status     INTEGER,
    attempts   INTEGER          NOT NULL,
    created_at DOUBLE PRECISION NOT NULL
);
CREATE INDEX dead_letters_channel ON dead_letters (channel, created_at);

-- The delivery log keeps one row per attempt; these say what was attempted and how it went.
ALTER TABLE notifications
    ADD COLUMN operation       TEXT NOT NULL DEFAULT '',
    ADD COLUMN http_status     INTEGER,
    ADD COLUMN latency_seconds DOUBLE PRECISION;
