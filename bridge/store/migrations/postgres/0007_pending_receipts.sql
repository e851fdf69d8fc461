-- Receipts the pipeline has not processed yet move to a table of their own. Marking them
-- processed used to update alert_receipts rows inside the pipeline's write, and Alertmanager's
-- re-sends, which bump the same rows' counters, waited for those row locks; now the pipeline
-- deletes from pending_receipts and re-sends never wait for it. claimed_until is the recovery
-- sweep's lease; while it is NULL the replica that received the delivery owns the receipt
-- until first_received_at plus the lease.
CREATE TABLE pending_receipts (
    fingerprint TEXT NOT NULL,
    starts_at TIMESTAMPTZ NOT NULL,
    status TEXT NOT NULL,
    payload_id BIGINT NOT NULL,
    first_received_at TIMESTAMPTZ NOT NULL,
    claimed_until TIMESTAMPTZ,
    PRIMARY KEY (fingerprint, starts_at, status)
);
INSERT INTO pending_receipts (fingerprint, starts_at, status, payload_id, first_received_at,
                              claimed_until)
SELECT fingerprint, starts_at, status, payload_id, first_received_at, claimed_until
FROM alert_receipts WHERE processed_at IS NULL;
CREATE INDEX pending_receipts_first_received ON pending_receipts (first_received_at);
DROP INDEX alert_receipts_unprocessed;
ALTER TABLE alert_receipts DROP COLUMN processed_at, DROP COLUMN claimed_until;
