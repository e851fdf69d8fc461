-- Alert instances are written once, by the pipeline, with their classification and dedupe
-- link, instead of inserted by the receiver and rewritten by the pipeline moments later (a
-- second version of a wide row and an entry in each of its indexes).
--
-- The receiver now records receipts only, and gives each new (fingerprint, startsAt) its
-- instance id from the table's own identity sequence, kept on the receipt: the second
-- receipt of an instance (its resolution) carries the same id.
ALTER TABLE alert_receipts ADD COLUMN instance_id BIGINT;
UPDATE alert_receipts r SET instance_id = a.id
FROM alert_instances a
WHERE a.fingerprint = r.fingerprint AND a.starts_at = r.starts_at;
-- A receipt without an instance cannot come from an earlier version; give it an id anyway.
UPDATE alert_receipts SET instance_id = nextval('alert_instances_id_seq')
WHERE instance_id IS NULL;
ALTER TABLE alert_receipts ALTER COLUMN instance_id SET NOT NULL;

-- A duplicate's row may be written in the same statement as its primary, or just after a
-- primary another pass is still committing; the pipeline's write checks that every stored
-- instance it changes exists (see secmon_check below), which the foreign key only repeated,
-- at the price of a row lock on the primary per duplicate.
ALTER TABLE alert_instances DROP CONSTRAINT IF EXISTS alert_instances_primary_id_fkey;

-- The pipeline's write is one statement: its checks raise instead of returning a status, so
-- a failed check rolls the whole statement back. P0001 (raise_exception) with the message.
CREATE OR REPLACE FUNCTION secmon_check(ok boolean, problem text) RETURNS boolean
LANGUAGE plpgsql AS $$
BEGIN
    IF NOT ok THEN
        RAISE EXCEPTION USING ERRCODE = 'P0001', MESSAGE = problem;
    END IF;
    RETURN true;
END
$$;
