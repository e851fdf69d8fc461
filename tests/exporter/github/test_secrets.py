"""No token and no leaked secret value in any log line, event, metric or cache."""

from __future__ import annotations

import logging

import pytest
from prometheus_client import CollectorRegistry, generate_latest

from exporter.collectors.github import GitHubCollector
from exporter.runtime import Runtime, Scheduled
from tests.exporter.github.conftest import LEAKED, TOKEN, FakeGitHubServer, github_config


async def test_secret_value_and_token_never_leave_the_collector(
    fake_github: FakeGitHubServer, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    # The fake ignores hide_secret here, as a server predating the parameter would.
    for repo in fake_github.fake.orgs["acme"].values():
        for alert in repo.alerts["secret_scanning"]:
            alert["secret"] = LEAKED
    collector = GitHubCollector(github_config(fake_github.url, timeout=1.0))
    registry = CollectorRegistry()
    runtime = Runtime([Scheduled(collector, "github", timeout=10)], registry=registry)
    state = runtime.states[0]
    try:
        assert await runtime.poll_once(state)
        await fake_github.fail(path="/repos/acme/api/secret-scanning/alerts", status=500)
        assert not await runtime.poll_once(state)  # error paths log too
        assert collector.client is not None
        cache = repr(collector.client._etags)
    finally:
        await collector.close()
    assert state.snapshot is not None
    events = repr(list(state.snapshot.events))
    exposition = generate_latest(registry).decode()
    logs = "\n".join(r.getMessage() for r in caplog.records)
    assert "secret_scanning_alert" in events  # the alert itself is there ...
    for text in (events, exposition, logs, cache):
        assert LEAKED not in text  # ... its secret is not
        assert TOKEN not in text
    assert "http_500" in logs


async def test_hide_secret_is_requested(fake_github: FakeGitHubServer) -> None:
    collector = GitHubCollector(github_config(fake_github.url))
    try:
        await collector.poll()
    finally:
        await collector.close()
    assert collector.client is not None
    urls = [key for key in collector.client._etags if "secret-scanning" in key]
    assert urls
    assert all("hide_secret=true" in url for url in urls)
