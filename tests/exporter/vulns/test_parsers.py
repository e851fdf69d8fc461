"""Trivy and Grype parsing: CVSS selection order, severity bands, fixes, JSON-path errors."""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from typing import Any

import pytest

from exporter.collectors.vulns_grype import parse_grype
from exporter.collectors.vulns_model import Finding, ReportError, Score, band, choose_cvss
from exporter.collectors.vulns_trivy import parse_trivy
from tests.exporter.vulns.conftest import MALFORMED, REPORTS


def by_id(findings: Sequence[Finding]) -> dict[str, Finding]:
    return {f"{f.vulnerability_id}/{f.package}": f for f in findings}


@pytest.mark.parametrize(
    ("score", "expected"),
    [(10.0, "critical"), (9.0, "critical"), (8.9, "high"), (7.0, "high"), (6.9, "medium"),
     (4.0, "medium"), (3.9, "low"), (0.0, "low")],
)  # fmt: skip
def test_bands_follow_the_seed_dynamic_severity(score: float, expected: str) -> None:
    assert band(score) == expected


def test_cvss_order_nvd_then_ghsa_then_vendor_then_v2_then_severity() -> None:
    nvd, ghsa = Score("nvd", 3, 7.5), Score("ghsa", 3, 8.1)
    redhat, alpine = Score("redhat", 3, 5.9), Score("alpine", 3, 6.3)
    v2 = [Score("nvd", 2, 5.0), Score("redhat", 2, 6.8)]
    assert choose_cvss([redhat, ghsa, nvd, *v2]) == (7.5, "nvd_v3", "high")
    assert choose_cvss([redhat, ghsa, *v2]) == (8.1, "ghsa_v3", "high")
    assert choose_cvss([redhat, alpine, *v2]) == (6.3, "alpine_v3", "medium")
    assert choose_cvss([redhat, alpine], preferred_vendor="redhat") == (5.9, "redhat_v3", "medium")
    assert choose_cvss(v2) == (6.8, "redhat_v2", "medium")
    assert choose_cvss([], scanner_severity="CRITICAL") == (9.0, "scanner_severity", "critical")
    assert choose_cvss([], scanner_severity="Unknown") == (None, "none", "unknown")


def test_trivy_report() -> None:
    report = parse_trivy(json.loads((REPORTS / "api-trivy.json").read_text()))
    assert (report.scanner, report.asset) == ("trivy", "registry.example.com/shop/api:1.4.2")
    found = by_id(report.findings)
    assert len(found) == 8
    ssl = found["CVE-2023-5363/libcrypto3"]
    assert (ssl.cvss_score, ssl.cvss_source, ssl.severity) == (7.5, "nvd_v3", "high")
    assert (ssl.installed_version, ssl.fixed_version) == ("3.1.3-r0", "3.1.4-r0")
    assert ssl.target == "registry.example.com/shop/api:1.4.2 (alpine 3.19.1)"
    assert found["CVE-2024-35195/requests"].cvss_source == "ghsa_v3"
    low = found["CVE-2024-2511/libssl3"]
    assert (low.cvss_source, low.severity, low.fixed_version) == ("redhat_v3", "low", "")
    assert found["CVE-2022-42969/py"].cvss_source == "nvd_v2"
    no_score = found["CVE-2024-1135/gunicorn"]
    assert (no_score.cvss_score, no_score.cvss_source) == (7.0, "scanner_severity")


def test_grype_report_takes_cve_and_nvd_score_from_related() -> None:
    report = parse_grype(json.loads((REPORTS / "worker-grype.json").read_text()))
    assert (report.asset, report.artifact_type) == (
        "registry.example.com/shop/worker:2.0.1",
        "container_image",
    )
    found = by_id(report.findings)
    requests = found["GHSA-j8r2-6x86-q33q/requests"]
    assert (requests.cve_id, requests.cvss_source, requests.fixed_version) == (
        "CVE-2023-32681",
        "nvd_v3",
        "2.31.0",
    )
    busybox = found["CVE-2022-48174/busybox"]
    assert (busybox.severity, busybox.fixed_version) == ("critical", "")
    unknown = found["GHSA-9wx4-h78v-vm56/requests"]
    assert (unknown.cve_id, unknown.cvss_score, unknown.severity) == (
        "GHSA-9wx4-h78v-vm56",
        None,
        "unknown",
    )


def test_grype_directory_source() -> None:
    document = {"matches": [], "source": {"type": "directory", "target": "/src/app"}}
    report = parse_grype(document)
    assert (report.asset, report.artifact_type, report.findings) == ("/src/app", "filesystem", [])


def test_errors_name_the_json_path() -> None:
    document = json.loads((MALFORMED / "trivy-missing-pkgname.json").read_text())
    with pytest.raises(ReportError) as caught:
        parse_trivy(document)
    assert caught.value.path == "$.Results[0].Vulnerabilities[1].PkgName"


@pytest.mark.parametrize(
    ("mutate", "path"),
    [
        (lambda d: d["matches"][0]["vulnerability"].pop("id"), "$.matches[0].vulnerability.id"),
        (
            lambda d: d["matches"][1]["relatedVulnerabilities"][0]["cvss"][0]["metrics"].update(
                baseScore="high"
            ),
            "$.matches[1].relatedVulnerabilities[0].cvss[0].metrics.baseScore",
        ),
        (lambda d: d.update(matches={}), "$.matches"),
        (lambda d: d["source"].pop("target"), "$.source.target"),
    ],
)
def test_grype_errors_name_the_json_path(
    mutate: Callable[[dict[str, Any]], object], path: str
) -> None:
    document = json.loads((REPORTS / "worker-grype.json").read_text())
    mutate(document)
    with pytest.raises(ReportError) as caught:
        parse_grype(document)
    assert caught.value.path == path
