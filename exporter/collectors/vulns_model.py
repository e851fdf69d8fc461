"""What a vulnerability report says, independent of the scanner that wrote it.

Trivy and Grype parsers (``vulns_trivy``, ``vulns_grype``) turn their JSON into
:class:`Finding` values; the collector (``vulns``) turns findings into events and metrics.

CVSS selection order (first hit wins), the same for both scanners:

1. NVD CVSS v3.x base score;
2. GitHub Security Advisory (GHSA) CVSS v3.x base score;
3. any other vendor's CVSS v3.x base score (the vendor the scanner took its severity from
   first, then the highest of the rest: a distribution rates for its own build of a package);
4. the highest CVSS v2 base score from any source;
5. none: the score is the lower bound of the scanner's severity band (critical 9.0, high 7.0,
   medium 4.0, low 0.1) and ``cvss_source`` says ``scanner_severity``, so a finding the
   scanner calls critical still reaches the CVSS-based rules instead of vanishing.

NVD comes first because it is the one source that scores every CVE on the same scale; GHSA
next because it covers language ecosystems NVD scores late. CVSS v4 scores are not used yet:
the seed's bands were written against v3.

Severity bands are the seed's ``dynamic_severity`` (``rules/vulnerabilities/cve_detection.yaml``):
≥ 9.0 critical, ≥ 7.0 high, ≥ 4.0 medium, else low; ``unknown`` only when there is neither a
score nor a scanner severity.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

SEVERITIES = ("critical", "high", "medium", "low", "unknown")
_SEVERITY_FLOOR = {"critical": 9.0, "high": 7.0, "medium": 4.0, "low": 0.1}


class ReportError(ValueError):
    """A report does not have the documented shape; ``path`` is the JSON path (``$.a[0].b``)."""

    def __init__(self, path: str, problem: str) -> None:
        super().__init__(f"{path}: {problem}")
        self.path = path


@dataclass(frozen=True, slots=True)
class Score:
    """One CVSS base score as a scanner reported it."""

    source: str  # "nvd", "ghsa" or a vendor name ("redhat", "alpine", …)
    version: int  # 2 or 3
    value: float


@dataclass(frozen=True, slots=True)
class Finding:
    """One vulnerable package in one scanned artifact."""

    scanner: str  # "trivy" | "grype"
    asset: str
    artifact_type: str
    vulnerability_id: str
    cve_id: str
    package: str
    installed_version: str
    fixed_version: str
    cvss_score: float | None
    cvss_source: str
    severity: str
    target: str = ""


@dataclass(frozen=True, slots=True)
class Report:
    """One parsed report: the scanned artifact and its findings."""

    scanner: str
    asset: str
    artifact_type: str
    findings: Sequence[Finding]


def band(score: float) -> str:
    """The seed's ``dynamic_severity`` band for a CVSS score."""
    if score >= 9.0:
        return "critical"
    if score >= 7.0:
        return "high"
    if score >= 4.0:
        return "medium"
    return "low"


def choose_cvss(
    scores: Iterable[Score], *, preferred_vendor: str = "", scanner_severity: str = ""
) -> tuple[float | None, str, str]:
    """``(score, source, severity)`` by the order in the module docstring."""
    scores = list(scores)
    v3 = [s for s in scores if s.version == 3]
    for source in ("nvd", "ghsa"):
        picked = [s for s in v3 if s.source == source]
        if picked:
            return picked[0].value, f"{source}_v3", band(picked[0].value)
    vendors = sorted(v3, key=lambda s: (s.source != preferred_vendor, -s.value))
    if vendors:
        return vendors[0].value, f"{vendors[0].source}_v3", band(vendors[0].value)
    v2 = sorted((s for s in scores if s.version == 2), key=lambda s: -s.value)
    if v2:
        return v2[0].value, f"{v2[0].source}_v2", band(v2[0].value)
    severity = scanner_severity.lower()
    if severity in _SEVERITY_FLOOR:
        return _SEVERITY_FLOOR[severity], "scanner_severity", severity
    return None, "none", "unknown"


# JSON-path checked accessors: every parser error names where in the document it happened.


def obj(value: Any, path: str) -> Mapping[str, Any]:
    if not isinstance(value, Mapping):
        raise ReportError(path, f"expected an object, got {type(value).__name__}")
    return value


def arr(value: Any, path: str, *, optional: bool = True) -> list[Any]:
    if value is None and optional:
        return []  # both scanners write null (or omit the key) for "nothing found"
    if not isinstance(value, list):
        raise ReportError(path, f"expected an array, got {type(value).__name__}")
    return value


def text(mapping: Mapping[str, Any], key: str, path: str, *, required: bool = True) -> str:
    value = mapping.get(key)
    if value is None and not required:
        return ""
    if not isinstance(value, str) or (required and not value):
        raise ReportError(f"{path}.{key}", "expected a non-empty string")
    return value


def number(value: Any, path: str) -> float | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ReportError(path, f"expected a number, got {type(value).__name__}")
    if not 0.0 <= float(value) <= 10.0:
        raise ReportError(path, f"CVSS score {value} outside 0-10")
    return float(value)
