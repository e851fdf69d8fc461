-- Receipts the pipeline has not processed yet move to a table of their own (as on
-- PostgreSQL, where this keeps Alertmanager's re-sends from waiting on the pipeline's row
-- locks): the receiver inserts a row per new receipt, the pipeline's write deletes it.
-- claimed_until is the recovery sweep's lease; while it is NULL the process that received
-- the delivery owns the receipt until first_received_at plus the lease.
CREATE TABLE pending_receipts (
    fingerprint TEXT NOT NULL,
    starts_at TEXT NOT NULL,
    status TEXT NOT NULL,
    payload_id INTEGER NOT NULL,
    first_received_at TEXT NOT NULL,
    claimed_until TEXT,
    PRIMARY KEY (fingerprint, starts_at, status)
) WITHOUT ROWID;
INSERT INTO pending_receipts (fingerprint, starts_at, status, payload_id, first_received_at,
                              claimed_until)
SELECT fingerprint, starts_at, status, payload_id, first_received_at, claimed_until
FROM alert_receipts WHERE processed_at IS NULL;
CREATE INDEX pending_receipts_first_received ON pending_receipts (first_received_at);
DROP INDEX alert_receipts_unprocessed;
ALTER TABLE alert_receipts DROP COLUMN processed_at;
ALTER TABLE alert_receipts DROP COLUMN claimed_until;
