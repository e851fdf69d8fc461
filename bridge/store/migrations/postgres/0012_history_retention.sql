-- History retention (lifecycle.history_retention_days) deletes old, finished alerts with
-- everything that names them, child rows first, in batches. Deleting a row checks each
-- foreign key that points at it by looking up the referencing column: these indexes keep that
-- a look-up instead of a scan of the referencing table. The first also finds the duplicates
-- merged into a primary (set on about one alert in ten, by the dedupe link).
CREATE INDEX IF NOT EXISTS alert_instances_primary ON alert_instances (primary_id) WHERE primary_id IS NOT NULL;
CREATE INDEX IF NOT EXISTS notifications_escalation ON notifications (escalation_id);

-- Security events age out by time; the dashboards read them by time range too. A TimescaleDB
-- hypertable already has an index on its time column.
DO $$
BEGIN
    IF NOT EXISTS (
        SELECT 1 FROM pg_indexes
        WHERE tablename = 'security_events' AND indexdef LIKE '%(created_at%'
    ) THEN
        CREATE INDEX IF NOT EXISTS security_events_created_at ON security_events (created_at);
    END IF;
END
$$;
