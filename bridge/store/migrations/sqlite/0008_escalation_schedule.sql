-- When the escalation scheduler next looks at an alert, in a narrow table of its own
-- (see the PostgreSQL migration 0009 for why). The pipeline's write inserts the row once an
-- alert is classified and deduplicated; the scheduler deletes it when no level is left or the
-- alert is no longer an open primary; an alert reopened when its suppression ends gets it back.
CREATE TABLE escalation_schedule (
    alert_id INTEGER PRIMARY KEY REFERENCES alert_instances (id),
    next_at  TEXT    NOT NULL
);
CREATE INDEX escalation_schedule_due ON escalation_schedule (next_at);

INSERT INTO escalation_schedule (alert_id, next_at)
SELECT id, COALESCE(escalation_next_at, created_at) FROM alert_instances
WHERE status = 'open' AND primary_id IS NULL
  AND COALESCE(escalation_next_at, created_at) < '9999-12-31T23:59:59.999999Z';

DROP INDEX alert_instances_escalation_due;
ALTER TABLE alert_instances DROP COLUMN escalation_next_at;
