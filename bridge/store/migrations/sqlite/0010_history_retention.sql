-- History retention (lifecycle.history_retention_days) deletes old, finished alerts with
-- everything that names them, child rows first, in batches. SQLite checks each deleted row's
-- foreign keys by looking up the referencing column: these indexes keep that a look-up
-- instead of a table scan. The first also finds the duplicates merged into a primary.
CREATE INDEX IF NOT EXISTS alert_instances_primary ON alert_instances (primary_id) WHERE primary_id IS NOT NULL;
CREATE INDEX IF NOT EXISTS notifications_escalation ON notifications (escalation_id);
CREATE INDEX IF NOT EXISTS security_events_created_at ON security_events (created_at);
