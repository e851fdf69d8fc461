"""Trivy JSON reports (``trivy image --format json``, schema version 2).

The fields read (https://aquasecurity.github.io/trivy/latest/docs/configuration/reporting/)::

    {"SchemaVersion": 2, "ArtifactName": "registry/app:1.4", "ArtifactType": "container_image",
     "Results": [{"Target": "…", "Vulnerabilities": [{
         "VulnerabilityID": "CVE-2023-5363", "PkgName": "libcrypto3",
         "InstalledVersion": "3.1.3-r0", "FixedVersion": "3.1.4-r0", "Severity": "HIGH",
         "SeveritySource": "nvd",
         "CVSS": {"nvd": {"V2Score": 5.0, "V3Score": 7.5}, "redhat": {"V3Score": 7.5}}}]}]}

``Vulnerabilities`` is absent or ``null`` for a target with no findings. GHSA scores appear
under the ``ghsa`` vendor key.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from exporter.collectors.vulns_model import (
    Finding,
    Report,
    Score,
    arr,
    choose_cvss,
    number,
    obj,
    text,
)


def is_trivy(document: Mapping[str, Any]) -> bool:
    return "SchemaVersion" in document and "ArtifactName" in document


def _scores(cvss: Any, path: str) -> list[Score]:
    scores: list[Score] = []
    for vendor, entry in (obj(cvss, path) if cvss is not None else {}).items():
        entry = obj(entry, f"{path}.{vendor}")
        for key, version in (("V3Score", 3), ("V2Score", 2)):
            value = number(entry.get(key), f"{path}.{vendor}.{key}")
            if value is not None:
                scores.append(Score(str(vendor).lower(), version, value))
    return scores


def parse_trivy(document: Mapping[str, Any]) -> Report:
    """Every finding of a Trivy report; raises :class:`ReportError` naming the JSON path."""
    asset = text(document, "ArtifactName", "$")
    artifact_type = text(document, "ArtifactType", "$", required=False) or "container_image"
    findings: list[Finding] = []
    for r, result in enumerate(arr(document.get("Results"), "$.Results")):
        rpath = f"$.Results[{r}]"
        result = obj(result, rpath)
        target = text(result, "Target", rpath, required=False)
        vulns = arr(result.get("Vulnerabilities"), f"{rpath}.Vulnerabilities")
        for v, vuln in enumerate(vulns):
            vpath = f"{rpath}.Vulnerabilities[{v}]"
            vuln = obj(vuln, vpath)
            vuln_id = text(vuln, "VulnerabilityID", vpath)
            severity = text(vuln, "Severity", vpath, required=False)
            score, source, band = choose_cvss(
                _scores(vuln.get("CVSS"), f"{vpath}.CVSS"),
                preferred_vendor=text(vuln, "SeveritySource", vpath, required=False).lower(),
                scanner_severity=severity,
            )
            findings.append(
                Finding(
                    scanner="trivy",
                    asset=asset,
                    artifact_type=artifact_type,
                    vulnerability_id=vuln_id,
                    cve_id=vuln_id,
                    package=text(vuln, "PkgName", vpath),
                    installed_version=text(vuln, "InstalledVersion", vpath, required=False),
                    fixed_version=text(vuln, "FixedVersion", vpath, required=False),
                    cvss_score=score,
                    cvss_source=source,
                    severity=band,
                    target=target,
                )
            )
    return Report("trivy", asset, artifact_type, findings)
