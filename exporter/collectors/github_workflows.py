"""Static analysis of GitHub Actions workflow files (``.github/workflows/*.yml``).

Pure functions over the YAML text, no I/O, so every check is tested without a server. Three
findings, each a known way an Actions workflow hands an attacker code execution or a secret:

- ``pull_request_target`` plus a checkout of the pull request's head
  (``ref: ${{ github.event.pull_request.head.sha }}``, ``…head.ref``, ``refs/pull/…``): the
  workflow runs the fork's code with the base repository's secrets and a write token;
- a secret expanded into a ``run:`` step that prints it (``echo ${{ secrets.X }}``): GitHub
  masks known secret values, but not transformed ones (base64, split), and logs of public
  repositories are public;
- a third-party action (``uses: owner/repo@ref``) not pinned to a 40-character commit SHA: a
  moved tag or branch changes the code that runs. ``actions/*`` and ``github/*`` are GitHub's
  own, and local (``./``) and ``docker://`` references are out of scope.

Secret *names* are reported (they are configuration, not values); values never reach this code.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

import yaml

_PR_HEAD = re.compile(
    r"github\.event\.pull_request\.head\.(?:sha|ref)"
    r"|github\.head_ref"
    r"|refs/pull/"
    r"|github\.event\.pull_request\.merge_commit_sha"
)
_SECRET_EXPR = re.compile(r"\$\{\{\s*secrets\.([A-Za-z_][A-Za-z0-9_]*)\s*\}\}")
_PRINTING = re.compile(r"\b(?:echo|printf|cat|print|Write-Host|Write-Output)\b")
_SHA = re.compile(r"^[0-9a-f]{40}$")
_FIRST_PARTY = ("actions/", "github/")


class WorkflowParseError(ValueError):
    """The file is not a YAML mapping of the shape GitHub accepts."""


@dataclass(frozen=True, slots=True)
class WorkflowFindings:
    """What one workflow file does that the rules care about."""

    name: str
    triggers: tuple[str, ...]
    checks_out_pr_head: bool = False
    secrets_echoed: tuple[str, ...] = ()
    unpinned_actions: tuple[str, ...] = field(default_factory=tuple)

    @property
    def pr_target_checkout(self) -> bool:
        return "pull_request_target" in self.triggers and self.checks_out_pr_head


def triggers_of(document: Mapping[Any, Any]) -> tuple[str, ...]:
    """The workflow's ``on:`` events, sorted; a string, a list or a mapping are all valid."""
    # PyYAML (YAML 1.1) reads a bare ``on`` key as the boolean True.
    on = document.get("on", document.get(True))
    if isinstance(on, str):
        return (on,)
    if isinstance(on, list):
        return tuple(sorted(str(t) for t in on))
    if isinstance(on, Mapping):
        return tuple(sorted(str(t) for t in on))
    return ()


def _steps(document: Mapping[Any, Any]) -> Iterator[Mapping[str, Any]]:
    jobs = document.get("jobs")
    if not isinstance(jobs, Mapping):
        return
    for job in jobs.values():
        if not isinstance(job, Mapping):
            continue
        steps = job.get("steps")
        for step in steps if isinstance(steps, list) else ():
            if isinstance(step, Mapping):
                yield step


def _uses(document: Mapping[Any, Any]) -> Iterator[str]:
    for step in _steps(document):
        if isinstance(step.get("uses"), str):
            yield step["uses"]
    jobs = document.get("jobs")
    for job in jobs.values() if isinstance(jobs, Mapping) else ():
        if isinstance(job, Mapping) and isinstance(job.get("uses"), str):
            yield job["uses"]  # reusable workflows are pinned the same way


def is_unpinned(uses: str) -> bool:
    """True for a third-party ``owner/repo[/path]@ref`` whose ref is not a full commit SHA."""
    if uses.startswith(("./", "docker://")) or uses.startswith(_FIRST_PARTY):
        return False
    _, at, ref = uses.partition("@")
    return not at or _SHA.fullmatch(ref) is None


def _checks_out_pr_head(step: Mapping[str, Any]) -> bool:
    uses = step.get("uses")
    if isinstance(uses, str) and uses.startswith("actions/checkout"):
        with_ = step.get("with")
        ref = with_.get("ref") if isinstance(with_, Mapping) else None
        return isinstance(ref, str) and _PR_HEAD.search(ref) is not None
    run = step.get("run")
    # A manual ``git fetch origin refs/pull/…`` / ``gh pr checkout`` does the same.
    return isinstance(run, str) and (
        ("git" in run and _PR_HEAD.search(run) is not None) or "gh pr checkout" in run
    )


def _echoed_secrets(step: Mapping[str, Any]) -> list[str]:
    run = step.get("run")
    if not isinstance(run, str):
        return []
    names: list[str] = []
    for line in run.splitlines():
        if _PRINTING.search(line):
            names.extend(_SECRET_EXPR.findall(line))
    return names


def analyse(text: str, *, name: str) -> WorkflowFindings:
    """Analyse one workflow file; raise :class:`WorkflowParseError` if it is not a workflow."""
    try:
        document = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise WorkflowParseError(f"{name}: not valid YAML ({type(exc).__name__})") from None
    if not isinstance(document, Mapping):
        raise WorkflowParseError(f"{name}: not a YAML mapping")
    steps = list(_steps(document))
    secrets = sorted({s for step in steps for s in _echoed_secrets(step)})
    unpinned = sorted({u for u in _uses(document) if is_unpinned(u)})
    return WorkflowFindings(
        name=name,
        triggers=triggers_of(document),
        checks_out_pr_head=any(_checks_out_pr_head(step) for step in steps),
        secrets_echoed=tuple(secrets),
        unpinned_actions=tuple(unpinned),
    )
