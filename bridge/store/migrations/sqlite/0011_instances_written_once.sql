-- Alert instances are written once, by the pipeline, with their classification and dedupe
-- link, instead of inserted by the receiver and rewritten by the pipeline moments later.
--
-- The receiver now records receipts only, and gives each new (fingerprint, startsAt) its
-- instance id, kept on the receipt: the second receipt of an instance (its resolution)
-- carries the same id. Ids are reserved from the table's own AUTOINCREMENT counter in
-- sqlite_sequence, so they never collide with a row inserted without one.
ALTER TABLE alert_receipts ADD COLUMN instance_id INTEGER;
UPDATE alert_receipts SET instance_id = (
    SELECT a.id FROM alert_instances a
    WHERE a.fingerprint = alert_receipts.fingerprint AND a.starts_at = alert_receipts.starts_at
);
INSERT INTO sqlite_sequence (name, seq)
SELECT 'alert_instances', coalesce((SELECT max(id) FROM alert_instances), 0)
WHERE NOT EXISTS (SELECT 1 FROM sqlite_sequence WHERE name = 'alert_instances');
-- A receipt without an instance cannot come from an earlier version; give it an id anyway,
-- the same for both receipts of one (fingerprint, startsAt).
UPDATE alert_receipts
SET instance_id = (SELECT seq FROM sqlite_sequence WHERE name = 'alert_instances') + (
    SELECT count(*) FROM alert_receipts o
    WHERE o.instance_id IS NULL
      AND (o.fingerprint, o.starts_at) <= (alert_receipts.fingerprint, alert_receipts.starts_at)
)
WHERE instance_id IS NULL;
UPDATE sqlite_sequence
SET seq = max(seq, coalesce((SELECT max(instance_id) FROM alert_receipts), 0))
WHERE name = 'alert_instances';
