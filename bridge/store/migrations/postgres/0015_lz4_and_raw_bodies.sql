-- Cheaper writes of the large values on the hot path.
--
-- webhook_payloads.payload becomes the webhook body as received, TEXT: the bridge parsed and
-- validated it already, it is only ever read back whole (the recovery sweep parses it again),
-- and converting some 7 KiB of JSON into jsonb cost PostgreSQL about as much as the rest of
-- the webhook's statement. Values already stored are converted once (a table rewrite).
-- Retention's index of bodies not emptied yet is rebuilt on the new type.
DROP INDEX webhook_payloads_unpruned;
ALTER TABLE webhook_payloads ALTER COLUMN payload TYPE TEXT USING payload::text;
CREATE INDEX webhook_payloads_unpruned ON webhook_payloads (received_at) WHERE payload <> '{}';

-- lz4 instead of pglz for the values PostgreSQL compresses (rows over about 2 KiB: bodies,
-- and the JSON of alert rows). It compresses several times faster at a similar ratio here.
-- Only values written from now on use it; stored ones stay readable as they are. A column
-- that cannot switch (a server built without lz4) keeps pglz, and a notice says why.
DO $$
DECLARE
    target RECORD;
BEGIN
    FOR target IN
        SELECT * FROM (VALUES ('webhook_payloads', 'payload'),
                              ('alert_instances', 'labels'),
                              ('alert_instances', 'annotations'),
                              ('alert_instances', 'reasons'),
                              ('alert_instances', 'enrichment'),
                              ('alert_instances', 'duplicates'),
                              ('alert_timeline', 'detail'),
                              ('security_events', 'details')) AS t (tab, col)
    LOOP
        BEGIN
            EXECUTE format('ALTER TABLE %I ALTER COLUMN %I SET COMPRESSION lz4',
                           target.tab, target.col);
        EXCEPTION WHEN OTHERS THEN
            RAISE NOTICE '%.% stays pglz-compressed: %', target.tab, target.col, SQLERRM;
        END;
    END LOOP;
END
$$;
