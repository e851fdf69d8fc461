"""Fixtures for GitHub collector tests: a real fake GitHub server and a seeded estate."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import aiohttp
import pytest
from aiohttp import web

from exporter.collectors.github import GitHubCollector, GitHubConfig
from exporter.fakes.github import (
    FAKE_KEY,
    FakeGitHub,
    code_scanning_alert,
    create_app,
    dependabot_alert,
    secret_alert,
)
from tests.harness.services import free_port

TOKEN = "ghs_fakeInstallationToken0123456789abcdefXYZ"
LEAKED = "AKIAZZFAKELEAKEDVALUE7F3E"  # the credential a secret-scanning alert found
PINNED = "actions/setup-node@v4"
SHA = "b4ffde65f46336ab88eb53be808477a3936bae11"

PR_TARGET_WORKFLOW = """\
name: pr-target
on:
  pull_request_target:
    types: [opened, synchronize]
jobs:
  build:
    runs-on: ubuntu-latest
    steps:
      - uses: actions/checkout@v4
        with:
          ref: ${{ github.event.pull_request.head.sha }}
      - uses: some-org/deploy-action@main
      - run: |
          npm ci
          echo "token is ${{ secrets.NPM_TOKEN }}"
"""

PR_WORKFLOW = f"""\
on: [pull_request]
jobs:
  test:
    runs-on: ubuntu-latest
    steps:
      - uses: actions/checkout@v4
      - uses: some-org/lint@{SHA}
      - run: npm test
"""


def insecure_estate() -> FakeGitHub:
    """``acme/api``: every finding; ``acme/web``: private, unprotected, features off; ``acme/docs``:
    clean."""
    fake = FakeGitHub(token=TOKEN)
    api = fake.add_repo(
        "acme",
        "api",
        allowed_actions="all",
        default_workflow_permissions="write",
        can_approve_pull_request_reviews=True,
        fork_pr_approval="first_time_contributors",
        workflows={"pr-target.yml": PR_TARGET_WORKFLOW, "ci.yml": PR_WORKFLOW},
        protection={
            "enforce_admins": {"enabled": False},
            "allow_force_pushes": {"enabled": True},
            "required_pull_request_reviews": {"required_approving_review_count": 1},
        },
    )
    api.alerts["secret_scanning"].append(secret_alert(1, "aws_access_key_id", LEAKED))
    api.alerts["secret_scanning"].append(
        secret_alert(2, "github_personal_access_token", "ghp_resolved", state="resolved")
    )
    api.alerts["dependabot"].append(
        dependabot_alert(3, "lodash", "critical", 9.8, cve="CVE-2021-23337")
    )
    api.alerts["dependabot"].append(dependabot_alert(4, "minimist", "medium", 5.6))
    api.alerts["code_scanning"].append(code_scanning_alert(5, "js/sql-injection", "high"))
    fake.add_repo(
        "acme",
        "web",
        private=True,
        protection=None,
        disabled=["secret_scanning", "dependabot", "code_scanning"],
        workflows={"ci.yml": PR_WORKFLOW},
        fork_pr_private={
            "run_workflows_from_fork_pull_requests": True,
            "send_write_tokens_to_workflows": False,
            "send_secrets_and_variables": True,
            "require_approval_for_fork_pr_workflows": False,
        },
    )
    fake.add_repo("acme", "docs")
    return fake


@dataclass
class FakeGitHubServer:
    """A running fake GitHub; ``control`` drives it through its HTTP control API."""

    url: str
    fake: FakeGitHub

    async def control(self, method: str, path: str, body: Any = None) -> Any:
        async with (
            aiohttp.ClientSession() as session,
            session.request(method, f"{self.url}/__fake__/{path}", json=body) as response,
        ):
            response.raise_for_status()
            return await response.json()

    async def fail(self, **spec: Any) -> None:
        await self.control("POST", "fail", spec)

    def statuses(self) -> dict[int, int]:
        counts: dict[int, int] = {}
        for request in self.fake.requests:
            counts[request["status"]] = counts.get(request["status"], 0) + 1
        return counts


async def start_fake_github(
    fake: FakeGitHub, prefix: str = ""
) -> tuple[web.AppRunner, FakeGitHubServer]:
    app = create_app(fake, prefix=prefix)
    runner = web.AppRunner(app)
    await runner.setup()
    port = free_port()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    return runner, FakeGitHubServer(url=f"http://127.0.0.1:{port}", fake=app[FAKE_KEY])


@pytest.fixture
async def fake_github() -> AsyncIterator[FakeGitHubServer]:
    runner, server = await start_fake_github(insecure_estate())
    yield server
    await runner.cleanup()


def github_config(url: str, **overrides: Any) -> GitHubConfig:
    fields: dict[str, Any] = {
        "type": "github",
        "name": "gh",
        "base_url": url,
        "token": TOKEN,
        "organizations": ["acme"],
        "timeout": 5.0,
    }
    fields.update(overrides)
    return GitHubConfig.model_validate(fields)


@pytest.fixture
async def github_collector(fake_github: FakeGitHubServer) -> AsyncIterator[GitHubCollector]:
    collector = GitHubCollector(github_config(fake_github.url), clock=lambda: 1_700_000_000.0)
    yield collector
    await collector.close()
