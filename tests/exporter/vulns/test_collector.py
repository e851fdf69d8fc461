"""The vulnerability-report collector: sources, events the rules read, metrics, failures."""

from __future__ import annotations

import json
import shutil
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from aiohttp import web
from prometheus_client import CollectorRegistry

from exporter.collectors.base import CollectorError
from exporter.collectors.vulns import VulnerabilityReportsCollector
from exporter.detection import DetectionState, Engine, load_rules
from exporter.runtime import Runtime, Scheduled
from tests.exporter.vulns.conftest import KEV, MALFORMED, REPORTS, vulns_config
from tests.harness.services import free_port

RULES = Path(__file__).resolve().parents[3] / "rules"
TOKEN = "scan-api-token-7c1e-do-not-log"


async def poll(**overrides: object) -> list[dict[str, object]]:
    collector = VulnerabilityReportsCollector(vulns_config(**overrides))
    try:
        snapshot = await collector.poll()
    finally:
        await collector.close()
    return [
        {"asset": e.asset, "platform": e.platform, "kind": e.kind, **e.data}
        for e in snapshot.events
    ]


async def test_a_directory_yields_one_event_per_finding() -> None:
    events = await poll()
    assert len(events) == 8 + 1 + 5
    assets = {e["asset"] for e in events}
    assert assets == {
        "registry.example.com/shop/api:1.4.2",
        "github.com/acme/web",
        "registry.example.com/shop/worker:2.0.1",
    }
    webp = next(e for e in events if e["cve_id"] == "CVE-2023-4863")
    assert webp == {
        "asset": "registry.example.com/shop/api:1.4.2",
        "platform": "container",
        "kind": "state",
        "cve_id": "CVE-2023-4863",
        "vulnerability_id": "CVE-2023-4863",
        "cvss_score": 8.8,
        "cvss_source": "nvd_v3",
        "severity": "high",
        "package": "libwebp",
        "installed_version": "1.3.1-r0",
        "fixed_version": "1.3.2-r0",
        "fix_available": True,
        "known_exploited": True,
        "scanner": "trivy",
        "artifact_type": "container_image",
        "target": "registry.example.com/shop/api:1.4.2 (alpine 3.19.1)",
    }
    unknown = next(e for e in events if e["vulnerability_id"] == "GHSA-9wx4-h78v-vm56")
    assert "cvss_score" not in unknown  # no score is not a score of 0


async def test_files_and_no_kev_file() -> None:
    events = await poll(paths=[str(REPORTS / "web-trivy.json")], kev_file=None)
    [minimist] = events
    assert minimist["platform"] == "repository"
    assert (minimist["cvss_score"], minimist["known_exploited"]) == (9.8, False)


async def test_duplicate_findings_are_one_event(tmp_path: Path) -> None:
    shutil.copy(REPORTS / "api-trivy.json", tmp_path / "a.json")
    shutil.copy(REPORTS / "api-trivy.json", tmp_path / "b.json")
    assert len(await poll(paths=[str(tmp_path)])) == 8


async def test_events_fire_the_vulnerability_rules() -> None:
    collector = VulnerabilityReportsCollector(vulns_config())
    snapshot = await collector.poll()
    engine = Engine(load_rules([RULES / "vulnerabilities"]))
    fired: dict[str, set[str]] = {}
    for event in snapshot.events:
        for rule in engine.matching(event):
            fired.setdefault(rule.rule_id, set()).add(str(event.data["vulnerability_id"]))
    assert fired["cve_detection"] == {
        "CVE-2023-5363",  # 7.5 in both reports
        "CVE-2023-4863",
        "CVE-2024-1135",  # no CVSS, scanner says HIGH
        "CVE-2021-44906",
        "CVE-2023-44487",
        "CVE-2022-48174",
    }
    assert "CVE-2022-48174" not in fired["vulnerability_fix_available"]  # not-fixed
    assert fired["vulnerability_known_exploited"] == {"CVE-2023-4863", "CVE-2023-44487"}


async def test_a_malformed_report_fails_the_poll_naming_file_and_path(tmp_path: Path) -> None:
    shutil.copy(REPORTS / "api-trivy.json", tmp_path / "a-good.json")
    shutil.copy(MALFORMED / "trivy-missing-pkgname.json", tmp_path / "b-bad.json")
    collector = VulnerabilityReportsCollector(vulns_config(paths=[str(tmp_path)]))
    with pytest.raises(CollectorError) as caught:
        await collector.poll()
    assert caught.value.reason == "malformed"
    assert str(caught.value) == (
        f"{tmp_path / 'b-bad.json'}: $.Results[0].Vulnerabilities[1].PkgName: "
        "expected a non-empty string"
    )


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("{not json", "invalid JSON"),
        ('{"hello": "world"}', "$: neither a Trivy report"),
        ("[1, 2]", "$: neither a Trivy report"),
    ],
)
async def test_unreadable_documents(tmp_path: Path, content: str, message: str) -> None:
    (tmp_path / "x.json").write_text(content)
    collector = VulnerabilityReportsCollector(vulns_config(paths=[str(tmp_path)]))
    with pytest.raises(CollectorError, match=r"x\.json: ") as caught:
        await collector.poll()
    assert message in str(caught.value)


async def test_a_missing_directory_is_an_error_not_zero_findings(tmp_path: Path) -> None:
    collector = VulnerabilityReportsCollector(vulns_config(paths=[str(tmp_path / "gone")]))
    with pytest.raises(CollectorError) as caught:
        await collector.poll()
    assert caught.value.reason == "io"


async def test_failed_poll_keeps_last_good_snapshot(tmp_path: Path) -> None:
    shutil.copy(REPORTS / "web-trivy.json", tmp_path / "web.json")
    collector = VulnerabilityReportsCollector(vulns_config(paths=[str(tmp_path)]))
    runtime = Runtime(
        [Scheduled(collector, "vulnerability_reports", 5)], registry=CollectorRegistry()
    )
    state = runtime.states[0]
    assert await runtime.poll_once(state)
    (tmp_path / "web.json").write_text('{"SchemaVersion": 2}')
    assert not await runtime.poll_once(state)
    assert state.stale
    assert state.snapshot is not None
    assert [e.data["cve_id"] for e in state.snapshot.events] == ["CVE-2021-44906"]
    await runtime.stop()


@pytest.fixture
async def report_server() -> AsyncIterator[tuple[str, list[dict[str, str]]]]:
    seen: list[dict[str, str]] = []
    reports = [
        json.loads((REPORTS / n).read_text()) for n in ("web-trivy.json", "worker-grype.json")
    ]

    async def handler(request: web.Request) -> web.Response:
        seen.append(dict(request.headers))
        if request.headers.get("Authorization") != f"Bearer {TOKEN}":
            return web.json_response({"message": "unauthorized"}, status=401)
        return web.json_response(reports)

    app = web.Application()
    app.router.add_get("/api/reports", handler)
    runner = web.AppRunner(app)
    await runner.setup()
    port = free_port()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    yield f"http://127.0.0.1:{port}/api/reports", seen
    await runner.cleanup()


async def test_http_endpoint_with_bearer_token(
    report_server: tuple[str, list[dict[str, str]]],
) -> None:
    url, seen = report_server
    events = await poll(paths=[], url=url, token=TOKEN)
    assert {e["scanner"] for e in events} == {"trivy", "grype"}
    assert len(events) == 1 + 5
    assert seen[0]["Authorization"] == f"Bearer {TOKEN}"


async def test_http_errors_do_not_leak_the_token(
    report_server: tuple[str, list[dict[str, str]]],
) -> None:
    url, _ = report_server
    collector = VulnerabilityReportsCollector(vulns_config(paths=[], url=url, token="wrong-token"))
    with pytest.raises(CollectorError) as caught:
        await collector.poll()
    await collector.close()
    assert caught.value.reason == "http_401"
    assert "wrong-token" not in str(caught.value)


def test_config_needs_a_source() -> None:
    with pytest.raises(ValueError, match="set paths, url, or both"):
        vulns_config(paths=[])


async def test_vulnerability_violations_reach_the_detection_metrics() -> None:
    detection = DetectionState.from_paths([RULES])
    collector = VulnerabilityReportsCollector(vulns_config())
    detection.update("scans", (await collector.poll()).events)
    registry = CollectorRegistry()
    registry.register(detection)
    value = registry.get_sample_value(
        "secmon_rule_violation",
        {
            "rule_id": "vulnerability_known_exploited",
            "severity": "critical",
            "category": "vulnerability_management",
            "platform": "container",
            "asset": "registry.example.com/shop/api:1.4.2",
            "environment": "production",
            "package": "libwebp",
        },
    )
    assert value == 1.0
    assert KEV.is_file()
