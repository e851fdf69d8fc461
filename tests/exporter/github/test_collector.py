"""The GitHub collector against the fake GitHub REST API over real HTTP."""

from __future__ import annotations

from pathlib import Path

import pytest
from prometheus_client import CollectorRegistry

from exporter.collectors.base import CollectorError
from exporter.collectors.github import GitHubCollector
from exporter.detection import Engine, load_rules
from exporter.fakes.github import FakeGitHub
from exporter.runtime import Runtime, Scheduled
from tests.exporter.github.conftest import (
    TOKEN,
    FakeGitHubServer,
    github_config,
    insecure_estate,
    start_fake_github,
)

RULES = Path(__file__).resolve().parents[3] / "rules"
ENGINE = Engine(load_rules([RULES]))


def sample(snapshot_metrics: object, name: str, **labels: str) -> float | None:
    for family in snapshot_metrics:  # type: ignore[attr-defined]
        for s in family.samples:
            if s.name == name and all(s.labels.get(k) == v for k, v in labels.items()):
                return float(s.value)
    return None


async def test_each_check_feeds_its_rule(github_collector: GitHubCollector) -> None:
    snapshot = await github_collector.poll()
    fired: dict[str, set[str]] = {}
    for event in snapshot.events:
        assert event.source == "github_scanner"
        for rule in ENGINE.matching(event):
            fired.setdefault(event.asset, set()).add(rule.rule_id)
    assert fired["acme/api"] == {
        "github_workflow_token_write_default",
        "github_fork_pr_approval_weak",
        "github_pull_request_target_checkout",
        "github_workflow_security",
        "github_secret_scanning_alert_open",
        "github_dependabot_critical",
        "github_force_push_allowed",
        "github_admins_exempt",
    }
    # Private repository sending secrets to fork PR workflows; no protection at all.
    assert fired["acme/web"] == {"github_workflow_security", "github_default_branch_unprotected"}
    assert "acme/docs" not in fired
    [dependabot] = [
        e for e in snapshot.events if e.event_type == "dependabot_alert" and e.data["number"] == 3
    ]
    assert dependabot.data["cvss_score"] == 9.8
    assert dependabot.data["cve_id"] == "CVE-2021-23337"


async def test_feature_off_is_unavailable_not_a_failure(github_collector: GitHubCollector) -> None:
    snapshot = await github_collector.poll()
    m = snapshot.metrics
    web = {"org": "acme", "repo": "web"}
    assert sample(m, "secmon_github_feature_unavailable", **web, feature="dependabot") == 1
    assert sample(m, "secmon_github_feature_unavailable", **web, feature="code_scanning") == 1
    assert sample(m, "secmon_github_dependabot_alerts", **web) is None
    assert sample(m, "secmon_github_default_branch_protected", **web) == 0
    api = {"org": "acme", "repo": "api"}
    assert sample(m, "secmon_github_dependabot_alerts", **api, severity="critical") == 1
    assert sample(m, "secmon_github_code_scanning_alerts", **api, severity="high") == 1
    assert sample(m, "secmon_github_secret_scanning_alerts", **api) == 1
    assert sample(m, "secmon_github_rate_limit_remaining") is not None


async def test_250_repositories_over_three_pages() -> None:
    fake = FakeGitHub(token=TOKEN)
    for i in range(250):
        fake.add_repo("bulk", f"repo-{i:03d}")
    runner, server = await start_fake_github(fake)
    collector = GitHubCollector(github_config(server.url, organizations=["bulk"], concurrency=8))
    try:
        snapshot = await collector.poll()
    finally:
        await collector.close()
        await runner.cleanup()
    assert sample(snapshot.metrics, "secmon_github_repositories", org="bulk") == 250
    pages = [r for r in fake.requests if r["path"] == "/orgs/bulk/repos"]
    assert len(pages) == 3
    assets = {e.asset for e in snapshot.events if e.event_type == "branch_protection"}
    assert len(assets) == 250


async def test_second_refresh_with_nothing_changed_is_all_304() -> None:
    fake = insecure_estate()
    del fake.orgs["acme"]["web"]  # its switched-off features answer 403/404, never 304
    runner, server = await start_fake_github(fake)
    collector = GitHubCollector(github_config(server.url))
    try:
        await collector.poll()
        first = server.statuses()
        fake.requests.clear()
        used = fake.used
        snapshot = await collector.poll()
        assert all(r["conditional"] for r in fake.requests)
        assert server.statuses() == {304: first[200]}
        assert fake.used == used  # 304s cost no rate limit
        assert (
            sample(snapshot.metrics, "secmon_github_api_requests_total", status="304")
            == (first[200])
        )
        # A change shows up: a new workflow file is fetched, the rest stays 304.
        await server.control(
            "PUT", "repos/acme/docs/workflows/new.yml", {"content": "on: push\njobs: {}\n"}
        )
        fake.requests.clear()
        snapshot = await collector.poll()
        assert 200 in server.statuses()
        assert any(e.data.get("workflow_name") == "new.yml" for e in snapshot.events)
    finally:
        await collector.close()
        await runner.cleanup()


async def test_enterprise_server_base_url() -> None:
    runner, server = await start_fake_github(insecure_estate(), prefix="/api/v3")
    collector = GitHubCollector(github_config(server.url + "/api/v3"))
    try:
        snapshot = await collector.poll()
    finally:
        await collector.close()
        await runner.cleanup()
    assert sample(snapshot.metrics, "secmon_github_repositories", org="acme") == 3


async def test_token_file_and_bad_credentials(
    fake_github: FakeGitHubServer, tmp_path: Path
) -> None:
    token_file = tmp_path / "token"
    token_file.write_text(TOKEN + "\n")
    config = github_config(fake_github.url, token=None, token_file=str(token_file))
    collector = GitHubCollector(config)
    try:
        await collector.poll()
        token_file.write_text("ghs_rotatedButWrong")
        with pytest.raises(CollectorError) as raised:
            await collector.poll()
        assert raised.value.reason == "http_401"
    finally:
        await collector.close()


@pytest.mark.parametrize(
    ("spec", "reason"),
    [
        ({"path": "/repos/acme/api/dependabot/alerts", "status": 502}, "http_502"),
        ({"path": "/orgs/acme/repos", "mode": "malformed"}, "malformed"),
        ({"path": "/repos/acme/docs/actions/permissions", "mode": "slow", "delay": 3}, "timeout"),
        ({"path": "/repos/acme/api/code-scanning/alerts", "mode": "secondary"}, "http_429"),
        ({"path": "/repos/acme/api/secret-scanning/alerts", "mode": "rate_limit"}, "http_403"),
    ],
)
async def test_bad_answers_fail_the_poll_and_keep_the_last_snapshot(
    fake_github: FakeGitHubServer, spec: dict[str, object], reason: str
) -> None:
    collector = GitHubCollector(github_config(fake_github.url, timeout=1.0))
    runtime = Runtime([Scheduled(collector, "github", timeout=10)], registry=CollectorRegistry())
    state = runtime.states[0]
    try:
        assert await runtime.poll_once(state)
        good = state.snapshot
        await fake_github.fail(**spec)
        assert not await runtime.poll_once(state)
    finally:
        await collector.close()
    labels = ("gh", "github")
    assert runtime.metrics.up.labels(*labels)._value.get() == 0
    assert runtime.metrics.errors.labels(*labels, reason)._value.get() == 1
    assert state.snapshot is good
    assert state.stale
    if spec.get("mode") in ("rate_limit", "secondary"):
        assert state.retry_after is not None
        assert state.retry_after > 0


async def test_switched_off_features_are_not_asked_again_until_the_recheck() -> None:
    fake = insecure_estate()
    runner, server = await start_fake_github(fake)
    now = [1_000_000.0]
    collector = GitHubCollector(
        github_config(server.url, feature_recheck_seconds=600), clock=lambda: now[0]
    )
    off = ("/repos/acme/web/dependabot/alerts", "/repos/acme/web/code-scanning/alerts")
    try:
        await collector.poll()
        assert {r["path"] for r in fake.requests} >= set(off)
        fake.requests.clear()
        now[0] += 300
        snapshot = await collector.poll()
        # Still reported unavailable, without asking GitHub again.
        web = {"org": "acme", "repo": "web"}
        assert (
            sample(
                snapshot.metrics, "secmon_github_feature_unavailable", **web, feature="dependabot"
            )
            == 1
        )
        assert not {r["path"] for r in fake.requests} & set(off)
        now[0] += 301
        fake.requests.clear()
        await collector.poll()
        assert {r["path"] for r in fake.requests} >= set(off)
    finally:
        await collector.close()
        await runner.cleanup()
