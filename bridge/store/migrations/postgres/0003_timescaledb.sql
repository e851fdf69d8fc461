-- TimescaleDB hypertables where the extension is installed; plain tables otherwise.
-- The extension may be available but not preloaded (CREATE EXTENSION then fails): the
-- exception handler keeps plain tables in that case too, and says why in a notice.
-- Only security_events qualifies: its key includes the time column, and no foreign key
-- points at it (hypertables cannot be referenced by foreign keys).
DO $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_available_extensions WHERE name = 'timescaledb') THEN
        RAISE NOTICE 'timescaledb not installed: security_events stays a plain table';
        RETURN;
    END IF;
    BEGIN
        CREATE EXTENSION IF NOT EXISTS timescaledb;
        PERFORM create_hypertable('security_events', 'created_at',
                                  if_not_exists => TRUE, migrate_data => TRUE);
    EXCEPTION WHEN OTHERS THEN
        RAISE NOTICE 'timescaledb unusable (%): security_events stays a plain table', SQLERRM;
    END;
END
$$;
