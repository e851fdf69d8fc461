-- The bridge writes compliance assessments from alerts of rules that name compliance
-- frameworks (see the PostgreSQL migration 0010): one current row per (control, asset) with
-- source = 'secmon'; rows other tools write are left alone.
ALTER TABLE compliance_assessments ADD COLUMN source TEXT;
CREATE UNIQUE INDEX compliance_assessments_secmon
    ON compliance_assessments (control_id, asset_id) WHERE source = 'secmon';
