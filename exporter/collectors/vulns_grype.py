"""Grype JSON reports (``grype <target> -o json``).

The fields read (https://github.com/anchore/grype, ``grype/presenter/models``)::

    {"matches": [{
        "vulnerability": {"id": "GHSA-…", "namespace": "github:language:python",
                          "severity": "High",
                          "cvss": [{"source": "…", "version": "3.1",
                                    "metrics": {"baseScore": 7.5}}],
                          "fix": {"state": "fixed", "versions": ["2.31.0"]}},
        "relatedVulnerabilities": [{"id": "CVE-2023-32681", "namespace": "nvd:cpe",
                                    "cvss": […]}],
        "artifact": {"name": "requests", "version": "2.28.1", "type": "python"}}],
     "source": {"type": "image", "target": {"userInput": "registry/app:1.4"}}}

A match's own record may be a GHSA or distribution advisory; the CVE it is about, and NVD's
score for it, sit in ``relatedVulnerabilities``. Both are read, so the CVSS order of
``vulns_model`` sees every score. ``fix.state`` is ``fixed``, ``not-fixed``, ``wont-fix`` or
``unknown``; only ``fixed`` with a version counts as a fix.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from exporter.collectors.vulns_model import (
    Finding,
    Report,
    ReportError,
    Score,
    arr,
    choose_cvss,
    number,
    obj,
    text,
)

_ARTIFACT_TYPES = {"image": "container_image", "directory": "filesystem", "file": "filesystem"}


def is_grype(document: Mapping[str, Any]) -> bool:
    return "matches" in document


def _source_of(cvss_source: str, namespace: str) -> str:
    key = f"{cvss_source} {namespace}".lower()
    if "nvd" in key:
        return "nvd"
    if "github" in key or "ghsa" in key:
        return "ghsa"
    return namespace.split(":", 1)[0].lower() or cvss_source.lower() or "vendor"


def _scores(record: Mapping[str, Any], path: str) -> list[Score]:
    namespace = text(record, "namespace", path, required=False)
    scores: list[Score] = []
    for c, entry in enumerate(arr(record.get("cvss"), f"{path}.cvss")):
        cpath = f"{path}.cvss[{c}]"
        entry = obj(entry, cpath)
        version = text(entry, "version", cpath, required=False).split(".", 1)[0]
        if version not in {"2", "3"}:
            continue  # CVSS v4 and unlabelled entries: see vulns_model's docstring
        metrics = obj(entry.get("metrics"), f"{cpath}.metrics")
        value = number(metrics.get("baseScore"), f"{cpath}.metrics.baseScore")
        if value is not None:
            source = _source_of(text(entry, "source", cpath, required=False), namespace)
            scores.append(Score(source, int(version), value))
    return scores


def _asset(document: Mapping[str, Any]) -> tuple[str, str]:
    source = obj(document.get("source"), "$.source")
    kind = text(source, "type", "$.source", required=False)
    target = source.get("target")
    if isinstance(target, Mapping):
        name = text(target, "userInput", "$.source.target")
    elif isinstance(target, str) and target:
        name = target
    else:
        raise ReportError("$.source.target", "expected a string or an object with userInput")
    return name, _ARTIFACT_TYPES.get(kind, kind or "artifact")


def parse_grype(document: Mapping[str, Any]) -> Report:
    """Every match of a Grype report; raises ``ReportError`` naming the JSON path."""
    asset, artifact_type = _asset(document)
    findings: list[Finding] = []
    for m, match in enumerate(arr(document.get("matches"), "$.matches")):
        mpath = f"$.matches[{m}]"
        match = obj(match, mpath)
        vpath = f"{mpath}.vulnerability"
        vuln = obj(match.get("vulnerability"), vpath)
        vuln_id = text(vuln, "id", vpath)
        scores = _scores(vuln, vpath)
        cve_id = vuln_id if vuln_id.startswith("CVE-") else ""
        related = arr(match.get("relatedVulnerabilities"), f"{mpath}.relatedVulnerabilities")
        for r, record in enumerate(related):
            rpath = f"{mpath}.relatedVulnerabilities[{r}]"
            record = obj(record, rpath)
            scores.extend(_scores(record, rpath))
            related_id = text(record, "id", rpath)
            if not cve_id and related_id.startswith("CVE-"):
                cve_id = related_id
        fix = obj(vuln.get("fix") or {}, f"{vpath}.fix")
        versions = arr(fix.get("versions"), f"{vpath}.fix.versions")
        fixed = versions[0] if fix.get("state") == "fixed" and versions else ""
        if not isinstance(fixed, str):
            raise ReportError(f"{vpath}.fix.versions[0]", "expected a string")
        score, source, band = choose_cvss(
            scores, scanner_severity=text(vuln, "severity", vpath, required=False)
        )
        artifact = obj(match.get("artifact"), f"{mpath}.artifact")
        findings.append(
            Finding(
                scanner="grype",
                asset=asset,
                artifact_type=artifact_type,
                vulnerability_id=vuln_id,
                cve_id=cve_id or vuln_id,
                package=text(artifact, "name", f"{mpath}.artifact"),
                installed_version=text(artifact, "version", f"{mpath}.artifact", required=False),
                fixed_version=fixed,
                cvss_score=score,
                cvss_source=source,
                severity=band,
            )
        )
    return Report("grype", asset, artifact_type, findings)
