-- The pipeline runs after the webhook has answered, so a receipt records whether the stages
-- have processed it. A receipt nobody processed (the process died, a stage failed, the queue
-- was full) is found again by the recovery sweep; claimed_until is the sweep's lease, and
-- while it is NULL the replica that received the delivery owns it for the lease period.
ALTER TABLE alert_receipts ADD COLUMN processed_at TEXT;
ALTER TABLE alert_receipts ADD COLUMN claimed_until TEXT;
-- Receipts stored before this migration went through the pipeline inside their request.
UPDATE alert_receipts SET processed_at = last_received_at;
CREATE INDEX alert_receipts_unprocessed ON alert_receipts (first_received_at)
    WHERE processed_at IS NULL;
