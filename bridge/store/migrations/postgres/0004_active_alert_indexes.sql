-- Classification looks up active alerts sharing a rule or an asset on every delivery; partial
-- indexes keep that a short index scan however much resolved history accumulates.
CREATE INDEX alert_instances_active_rule ON alert_instances (rule_id, id)
    WHERE status IN ('open', 'acknowledged');
CREATE INDEX alert_instances_active_asset ON alert_instances (asset_id, id)
    WHERE status IN ('open', 'acknowledged');
