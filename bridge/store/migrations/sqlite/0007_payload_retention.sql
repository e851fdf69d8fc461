-- Raw webhook bodies are kept for lifecycle.payload_retention_days, then emptied to '{}' (the
-- row, its digest and its alerts stay). This index finds the bodies still to empty by age.
CREATE INDEX webhook_payloads_unpruned ON webhook_payloads (received_at)
    WHERE payload <> '{}';
