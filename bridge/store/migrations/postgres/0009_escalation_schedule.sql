-- When the escalation scheduler next looks at an alert, in a narrow table of its own.
--
-- As a column of alert_instances, every claimed level rewrote the whole wide row and added an
-- entry to each of its indexes. Here a level costs one small row version. The pipeline's
-- write inserts the row once an alert is classified and deduplicated, so a level is never
-- claimed from an alert's raw severity or for an alert about to become a duplicate. The
-- scheduler deletes a row when no level is left, and when it finds the alert no longer open
-- (acknowledged, resolved, suppressed) or merged into a primary; an alert reopened when its
-- suppression ends gets its row back.
CREATE TABLE escalation_schedule (
    alert_id BIGINT      PRIMARY KEY REFERENCES alert_instances (id),
    next_at  TIMESTAMPTZ NOT NULL
);
CREATE INDEX escalation_schedule_due ON escalation_schedule (next_at);

INSERT INTO escalation_schedule (alert_id, next_at)
SELECT id, COALESCE(escalation_next_at, created_at) FROM alert_instances
WHERE status = 'open' AND primary_id IS NULL
  AND COALESCE(escalation_next_at, created_at) < 'infinity';

DROP INDEX alert_instances_escalation_due;
ALTER TABLE alert_instances DROP COLUMN escalation_next_at;
