"""Vulnerability reports: Trivy (primary) and Grype JSON, from files, directories or HTTP.

Each poll reads every configured source: a file, every ``*.json`` directly inside a directory
(sorted by name), and optionally one HTTP endpoint answering a report or a JSON array of
reports. The format is recognised per document (Trivy: ``SchemaVersion`` + ``ArtifactName``;
Grype: ``matches``). The CVSS score is chosen in the order documented in ``vulns_model``.

**One malformed report fails the whole poll** (reason ``malformed``; the message names the
file or URL and the JSON path, e.g. ``reports/app.json: $.Results[0].Vulnerabilities[3].PkgName:
expected a non-empty string``). The runtime then keeps the last good snapshot, marked stale.
Parsing the other files and publishing a partial picture would make the bad file's findings
silently disappear from alerts, which reads as "fixed"; a failed poll is loud instead.

One *state* event per finding (``vulnerability_scanner`` / ``vulnerability_found``), asset =
the scanned artifact (image reference or path), with ``data``: ``cve_id`` (the CVE, or the
advisory id when none is known), ``vulnerability_id``, ``cvss_score`` (absent when unknown),
``cvss_source``, ``severity``, ``package``, ``installed_version``, ``fixed_version``,
``fix_available``, ``known_exploited`` (listed in the configured CISA KEV catalogue),
``scanner``, ``artifact_type``, ``target``. The same (asset, vulnerability, package, version)
reported twice — by two targets or two scanners — is one event; the first report read wins.

Metric lines (severity counts by default, like trivy-operator; per-CVE series only with
``per_cve_metrics: true``, since CVE ids are unbounded)::

    secmon_vulnerabilities{asset="registry/app:1.4",collector="scans",severity="critical"} 2.0
    secmon_vulnerabilities_fixable{asset="registry/app:1.4",collector="scans",severity="high"} 1.0
    secmon_vulnerabilities_known_exploited{asset="registry/app:1.4",collector="scans"} 1.0
    secmon_vulnerability_reports{collector="scans",scanner="trivy"} 3.0
    # only with per_cve_metrics: true
    secmon_vulnerability_cvss_score{asset="registry/app:1.4",collector="scans",\
cve_id="CVE-2023-5363",installed_version="3.1.3-r0",package="libcrypto3",severity="high"} 7.5
"""

from __future__ import annotations

import asyncio
import json
import time
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any, Literal

from prometheus_client.core import GaugeMetricFamily, Metric
from pydantic import HttpUrl, SecretStr, model_validator

from exporter.collectors.base import CollectorError, Snapshot
from exporter.collectors.httpapi import ApiClient, redact
from exporter.collectors.vulns_grype import is_grype, parse_grype
from exporter.collectors.vulns_model import SEVERITIES, Finding, Report, ReportError
from exporter.collectors.vulns_trivy import is_trivy, parse_trivy
from exporter.config import CollectorConfig
from exporter.events import Event

_PLATFORMS = {"container_image": "container", "repository": "repository"}


class VulnerabilityReportsConfig(CollectorConfig):
    """``type: vulnerability_reports``: where the scanner reports are and how to read them."""

    type: Literal["vulnerability_reports"]
    paths: list[Path] = []
    url: HttpUrl | None = None
    token: SecretStr | None = None  # bearer token for ``url``
    verify_tls: bool = True
    kev_file: Path | None = None  # CISA known_exploited_vulnerabilities.json
    per_cve_metrics: bool = False

    @model_validator(mode="after")
    def _has_a_source(self) -> VulnerabilityReportsConfig:
        if not self.paths and self.url is None:
            raise ValueError("set paths, url, or both")
        if self.url is not None and (self.url.username or self.url.password):
            raise ValueError("url must not contain credentials; use token")
        return self


def _read_json(path: Path) -> Any:
    try:
        return json.loads(path.read_bytes())
    except OSError as exc:
        raise CollectorError(f"{path}: cannot read: {exc.strerror}", reason="io") from None
    except ValueError as exc:
        raise CollectorError(f"{path}: invalid JSON: {exc}", reason="malformed") from None


def _report_files(paths: Sequence[Path]) -> list[Path]:
    files: list[Path] = []
    for path in paths:
        if path.is_dir():
            files.extend(sorted(p for p in path.glob("*.json") if p.is_file()))
        elif path.is_file():
            files.append(path)
        else:
            # A vanished report directory must not read as "no vulnerabilities".
            raise CollectorError(f"{path}: no such file or directory", reason="io")
    return files


def parse_report(document: Any, origin: str) -> Report:
    """Parse one Trivy or Grype document; :class:`CollectorError` names ``origin`` and path."""
    try:
        if isinstance(document, Mapping) and is_trivy(document):
            return parse_trivy(document)
        if isinstance(document, Mapping) and is_grype(document):
            return parse_grype(document)
        raise ReportError("$", "neither a Trivy report (SchemaVersion, ArtifactName) nor Grype")
    except ReportError as exc:
        raise CollectorError(f"{origin}: {exc}", reason="malformed") from None


def load_kev(path: Path) -> frozenset[str]:
    """CVE ids of CISA's KEV catalogue: ``{"vulnerabilities": [{"cveID": "CVE-…"}, …]}``."""
    document = _read_json(path)
    entries = document.get("vulnerabilities") if isinstance(document, Mapping) else None
    if not isinstance(entries, list):
        raise CollectorError(f"{path}: $.vulnerabilities: expected an array", reason="malformed")
    ids = {e.get("cveID") for e in entries if isinstance(e, Mapping)}
    return frozenset(i for i in ids if isinstance(i, str))


class VulnerabilityReportsCollector:
    """Reads scanner reports into per-finding events and per-asset severity counts."""

    def __init__(
        self, config: VulnerabilityReportsConfig, *, clock: Callable[[], float] = time.time
    ) -> None:
        self._config = config
        self._clock = clock
        self._api: ApiClient | None = None
        if config.url is not None:
            headers = {}
            if config.token is not None:
                headers["Authorization"] = f"Bearer {config.token.get_secret_value()}"
            self._api = ApiClient(
                base_url=str(config.url),
                headers=headers,
                timeout=config.timeout,
                verify_tls=config.verify_tls,
            )

    @property
    def name(self) -> str:
        return self._config.name

    @property
    def interval(self) -> float:
        return self._config.interval

    async def _documents(self) -> list[tuple[str, Any]]:
        files = await asyncio.to_thread(_report_files, self._config.paths)
        documents: list[tuple[str, Any]] = []
        for path in files:
            documents.append((str(path), await asyncio.to_thread(_read_json, path)))
        if self._api is not None:
            # The absolute URL: ApiClient's base URL gains a trailing "/" meant for joining.
            response = await self._api.get(str(self._config.url))
            origin = redact(response.url)
            if isinstance(response.data, list):
                documents.extend((f"{origin}[{i}]", d) for i, d in enumerate(response.data))
            else:
                documents.append((origin, response.data))
        return documents

    async def poll(self) -> Snapshot:
        reports = [parse_report(doc, origin) for origin, doc in await self._documents()]
        kev: frozenset[str] = frozenset()
        if self._config.kev_file is not None:
            kev = await asyncio.to_thread(load_kev, self._config.kev_file)
        findings: dict[tuple[str, str, str, str], Finding] = {}
        for report in reports:
            for f in report.findings:
                key = (f.asset, f.vulnerability_id, f.package, f.installed_version)
                findings.setdefault(key, f)
        now = self._clock()
        events = [self._event(f, kev, now) for f in findings.values()]
        return Snapshot(events, now, self._metrics(reports, list(findings.values()), kev))

    def _event(self, finding: Finding, kev: frozenset[str], now: float) -> Event:
        data: dict[str, Any] = {
            "cve_id": finding.cve_id,
            "vulnerability_id": finding.vulnerability_id,
            "cvss_source": finding.cvss_source,
            "severity": finding.severity,
            "package": finding.package,
            "installed_version": finding.installed_version,
            "fixed_version": finding.fixed_version,
            "fix_available": bool(finding.fixed_version),
            "known_exploited": finding.cve_id in kev or finding.vulnerability_id in kev,
            "scanner": finding.scanner,
            "artifact_type": finding.artifact_type,
            "target": finding.target,
        }
        if finding.cvss_score is not None:
            data["cvss_score"] = finding.cvss_score
        return Event(
            source="vulnerability_scanner",
            event_type="vulnerability_found",
            kind="state",
            platform=_PLATFORMS.get(finding.artifact_type, finding.artifact_type),
            asset=finding.asset,
            environment=self._config.environment,
            observed_at=now,
            data=data,
        )

    def _metrics(
        self, reports: Sequence[Report], findings: Sequence[Finding], kev: frozenset[str]
    ) -> list[Metric]:
        name = self.name
        assets = sorted({r.asset for r in reports})
        by_severity = Counter((f.asset, f.severity) for f in findings)
        fixable = Counter((f.asset, f.severity) for f in findings if f.fixed_version)
        exploited = Counter(
            f.asset for f in findings if f.cve_id in kev or f.vulnerability_id in kev
        )
        counts = GaugeMetricFamily(
            "secmon_vulnerabilities",
            "Vulnerabilities found in the asset's latest report, by severity band.",
            labels=["collector", "asset", "severity"],
        )
        fix = GaugeMetricFamily(
            "secmon_vulnerabilities_fixable",
            "Vulnerabilities with a fixed version available, by severity band.",
            labels=["collector", "asset", "severity"],
        )
        kev_family = GaugeMetricFamily(
            "secmon_vulnerabilities_known_exploited",
            "Vulnerabilities listed in the CISA Known Exploited Vulnerabilities catalogue.",
            labels=["collector", "asset"],
        )
        for asset in assets:
            # Every band for every asset, zeros included: "0 critical" is an answer, not a gap.
            for severity in SEVERITIES:
                counts.add_metric([name, asset, severity], by_severity[(asset, severity)])
                fix.add_metric([name, asset, severity], fixable[(asset, severity)])
            kev_family.add_metric([name, asset], exploited[asset])
        scanned = GaugeMetricFamily(
            "secmon_vulnerability_reports",
            "Reports read in the last successful poll, by scanner.",
            labels=["collector", "scanner"],
        )
        for scanner, count in sorted(Counter(r.scanner for r in reports).items()):
            scanned.add_metric([name, scanner], count)
        families: list[Metric] = [counts, fix, kev_family, scanned]
        if self._config.per_cve_metrics:
            families.append(self._per_cve(findings))
        return families

    def _per_cve(self, findings: Sequence[Finding]) -> Metric:
        family = GaugeMetricFamily(
            "secmon_vulnerability_cvss_score",
            "CVSS score of each finding (only with per_cve_metrics: true; high cardinality).",
            labels=["collector", "asset", "cve_id", "package", "installed_version", "severity"],
        )
        for f in sorted(findings, key=lambda f: (f.asset, f.cve_id, f.package)):
            if f.cvss_score is not None:
                family.add_metric(
                    [self.name, f.asset, f.cve_id, f.package, f.installed_version, f.severity],
                    f.cvss_score,
                )
        return family

    async def close(self) -> None:
        if self._api is not None:
            await self._api.close()
