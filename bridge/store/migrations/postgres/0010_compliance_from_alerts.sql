-- The bridge writes compliance assessments from alerts of rules that name compliance
-- frameworks: one current row per (control, asset), non_compliant while the alert fires and
-- compliant once Alertmanager resolves it. Its rows say source = 'secmon'; rows other tools
-- write (source NULL or their own) are left alone and are not bound by the unique index.
ALTER TABLE compliance_assessments ADD COLUMN source TEXT;
CREATE UNIQUE INDEX compliance_assessments_secmon
    ON compliance_assessments (control_id, asset_id) WHERE source = 'secmon';
