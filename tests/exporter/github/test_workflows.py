"""Workflow-file analysis: pure functions over YAML text."""

from __future__ import annotations

import pytest

from exporter.collectors.github_workflows import WorkflowParseError, analyse, is_unpinned
from tests.exporter.github.conftest import PR_TARGET_WORKFLOW, PR_WORKFLOW, SHA


def test_pull_request_target_with_head_checkout() -> None:
    found = analyse(PR_TARGET_WORKFLOW, name="pr-target.yml")
    assert found.triggers == ("pull_request_target",)
    assert found.checks_out_pr_head
    assert found.pr_target_checkout
    assert found.secrets_echoed == ("NPM_TOKEN",)
    assert found.unpinned_actions == ("some-org/deploy-action@main",)


def test_clean_pull_request_workflow() -> None:
    found = analyse(PR_WORKFLOW, name="ci.yml")
    assert not found.pr_target_checkout
    assert not found.secrets_echoed
    assert found.unpinned_actions == ()


@pytest.mark.parametrize(
    "ref",
    [
        "${{ github.event.pull_request.head.ref }}",
        "${{ github.head_ref }}",
        "refs/pull/${{ github.event.number }}/merge",
    ],
)
def test_other_pr_head_refs(ref: str) -> None:
    text = f"""
on: pull_request_target
jobs:
  j:
    steps:
      - uses: actions/checkout@v4
        with: {{ref: "{ref}"}}
"""
    assert analyse(text, name="x.yml").pr_target_checkout


def test_secret_in_env_is_not_echoed() -> None:
    text = """
on: push
jobs:
  j:
    steps:
      - run: ./deploy.sh
        env: {TOKEN: "${{ secrets.DEPLOY }}"}
      - run: echo "deploying"
"""
    assert analyse(text, name="x.yml").secrets_echoed == ()


@pytest.mark.parametrize(
    ("uses", "unpinned"),
    [
        ("actions/checkout@v4", False),
        ("github/codeql-action/init@v3", False),
        ("./.github/actions/local", False),
        ("docker://alpine:3", False),
        (f"some-org/action@{SHA}", False),
        ("some-org/action@v1", True),
        ("some-org/action", True),
        ("some-org/reusable/.github/workflows/x.yml@main", True),
    ],
)
def test_pinning(uses: str, unpinned: bool) -> None:
    assert is_unpinned(uses) is unpinned


@pytest.mark.parametrize("text", ["- just\n- a list\n", "on: [push\n"])
def test_not_a_workflow(text: str) -> None:
    with pytest.raises(WorkflowParseError):
        analyse(text, name="bad.yml")
