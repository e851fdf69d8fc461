-- The webhook's statement no longer checks each receipt's payload through a foreign key.
--
-- Every receipt names the payload row the same statement inserts (or finds, for an exact
-- re-delivery), and payload rows are never deleted: retention empties a body it no longer
-- needs but keeps the row. The check guarded against nothing the code can do, and cost a
-- trigger, a look-up query and a row lock on the payload per alert on the webhook's path.
ALTER TABLE alert_receipts DROP CONSTRAINT IF EXISTS alert_receipts_payload_id_fkey;
