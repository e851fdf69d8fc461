"""Fixture reports (tests/fixtures/vulns) and configs for the vulnerability-report collector."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from exporter.collectors.vulns import VulnerabilityReportsConfig

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "vulns"
REPORTS = FIXTURES / "reports"
KEV = FIXTURES / "known_exploited_vulnerabilities.json"
MALFORMED = FIXTURES / "malformed"


def vulns_config(**overrides: Any) -> VulnerabilityReportsConfig:
    fields: dict[str, Any] = {
        "type": "vulnerability_reports",
        "name": "scans",
        "paths": [str(REPORTS)],
        "kev_file": str(KEV),
    }
    fields.update(overrides)
    return VulnerabilityReportsConfig.model_validate(fields)
