"""GitHub REST answers → small typed records, validated and stripped to what secmon keeps.

Every parser takes one decoded JSON item in the documented shape and returns only the fields the
rules and metrics use; anything missing or of the wrong type raises a ``malformed``
:class:`~exporter.collectors.base.CollectorError`, which fails the poll (the last good snapshot
stays, marked stale) instead of silently reporting "no alerts".

Secret-scanning alerts carry the leaked credential in their ``secret`` field. It is requested
away (``hide_secret=true``) and, for servers that ignore that parameter, deleted from the decoded
answer *in place* before anything else reads it: the shared client keeps that very object in its
ETag cache, so deleting it there keeps the value out of memory as well as out of events, metrics
and logs.
"""

from __future__ import annotations

from collections.abc import Mapping, MutableMapping
from dataclasses import dataclass, field
from typing import Any

from exporter.collectors.base import CollectorError
from exporter.collectors.github_workflows import WorkflowFindings

# Fields of a secret-scanning alert that hold (parts of) the secret itself.
SECRET_FIELDS = ("secret",)

FEATURES = (
    "actions_permissions",
    "workflow_permissions",
    "fork_pr_approval",
    "fork_pr_private",
    "workflows",
    "secret_scanning",
    "dependabot",
    "code_scanning",
    "branch_protection",
)


def malformed(what: str) -> CollectorError:
    return CollectorError(f"GitHub answer malformed: {what}", reason="malformed")


def obj(value: Any, what: str) -> Mapping[str, Any]:
    if not isinstance(value, Mapping):
        raise malformed(f"{what} is not an object")
    return value


def items(value: Any, what: str) -> list[Mapping[str, Any]]:
    if not isinstance(value, list):
        raise malformed(f"{what} is not a list")
    return [obj(v, f"{what}[]") for v in value]


def text(mapping: Mapping[str, Any], key: str, what: str) -> str:
    value = mapping.get(key)
    if not isinstance(value, str):
        raise malformed(f"{what}.{key} is not a string")
    return value


def flag(mapping: Mapping[str, Any], key: str, what: str) -> bool:
    value = mapping.get(key)
    if not isinstance(value, bool):
        raise malformed(f"{what}.{key} is not a boolean")
    return value


def _opt_text(mapping: Mapping[str, Any], key: str) -> str:
    value = mapping.get(key)
    return value if isinstance(value, str) else ""


@dataclass(frozen=True, slots=True)
class Repo:
    """One repository from ``GET /orgs/{org}/repos``."""

    org: str
    name: str
    default_branch: str
    private: bool
    archived: bool
    fork: bool
    pushed_at: str
    # From ``security_and_analysis`` (only shown to admins): "enabled", "disabled" or "".
    secret_scanning: str = ""

    @property
    def full_name(self) -> str:
        return f"{self.org}/{self.name}"


def parse_repo(item: Mapping[str, Any], org: str) -> Repo:
    what = f"{org} repository"
    security = item.get("security_and_analysis")
    scanning = security.get("secret_scanning") if isinstance(security, Mapping) else None
    return Repo(
        org=org,
        name=text(item, "name", what),
        default_branch=text(item, "default_branch", what),
        private=flag(item, "private", what),
        archived=bool(item.get("archived", False)),
        fork=bool(item.get("fork", False)),
        pushed_at=_opt_text(item, "pushed_at"),
        secret_scanning=_opt_text(scanning, "status") if isinstance(scanning, Mapping) else "",
    )


def parse_secret_alert(item: Mapping[str, Any]) -> dict[str, Any]:
    """The alert without its secret; the secret is also deleted from ``item`` itself."""
    if isinstance(item, MutableMapping):
        for key in SECRET_FIELDS:
            item.pop(key, None)
    what = "secret scanning alert"
    number = item.get("number")
    if not isinstance(number, int):
        raise malformed(f"{what}.number is not an integer")
    return {
        "number": number,
        "state": text(item, "state", what),
        "secret_type": text(item, "secret_type", what),
        "secret_type_display_name": _opt_text(item, "secret_type_display_name"),
        "validity": _opt_text(item, "validity"),
        "push_protection_bypassed": bool(item.get("push_protection_bypassed") or False),
        "created_at": _opt_text(item, "created_at"),
        "html_url": _opt_text(item, "html_url"),
    }


def _cvss_score(advisory: Mapping[str, Any]) -> float | None:
    # ``cvss`` is the long-standing field; ``cvss_severities`` (v3/v4) replaces it over time.
    candidates: list[Any] = [advisory.get("cvss")]
    severities = advisory.get("cvss_severities")
    if isinstance(severities, Mapping):
        candidates += [severities.get("cvss_v4"), severities.get("cvss_v3")]
    for candidate in candidates:
        score = candidate.get("score") if isinstance(candidate, Mapping) else None
        if isinstance(score, int | float) and not isinstance(score, bool) and score > 0:
            return float(score)
    return None


def parse_dependabot_alert(item: Mapping[str, Any]) -> dict[str, Any]:
    what = "dependabot alert"
    advisory = obj(item.get("security_advisory"), f"{what}.security_advisory")
    dependency = obj(item.get("dependency"), f"{what}.dependency")
    package = obj(dependency.get("package"), f"{what}.dependency.package")
    number = item.get("number")
    if not isinstance(number, int):
        raise malformed(f"{what}.number is not an integer")
    return {
        "number": number,
        "state": text(item, "state", what),
        "severity": text(advisory, "severity", f"{what}.security_advisory"),
        "package": text(package, "name", f"{what}.dependency.package"),
        "ecosystem": _opt_text(package, "ecosystem"),
        "manifest_path": _opt_text(dependency, "manifest_path"),
        "ghsa_id": _opt_text(advisory, "ghsa_id"),
        "cve_id": _opt_text(advisory, "cve_id"),
        "cvss_score": _cvss_score(advisory),
        "html_url": _opt_text(item, "html_url"),
    }


def parse_code_scanning_alert(item: Mapping[str, Any]) -> dict[str, Any]:
    what = "code scanning alert"
    rule = obj(item.get("rule"), f"{what}.rule")
    tool = item.get("tool")
    number = item.get("number")
    if not isinstance(number, int):
        raise malformed(f"{what}.number is not an integer")
    # Security queries carry security_severity_level; quality queries only error/warning/note.
    severity = _opt_text(rule, "security_severity_level") or _opt_text(rule, "severity")
    return {
        "number": number,
        "state": text(item, "state", what),
        "severity": severity or "unknown",
        "rule": _opt_text(rule, "id"),
        "tool": _opt_text(tool, "name") if isinstance(tool, Mapping) else "",
        "html_url": _opt_text(item, "html_url"),
    }


def parse_protection(data: Mapping[str, Any]) -> dict[str, Any]:
    """``GET …/branches/{b}/protection``; absent sub-objects mean the setting is off."""

    def enabled(key: str) -> bool:
        value = data.get(key)
        return isinstance(value, Mapping) and value.get("enabled") is True

    reviews = data.get("required_pull_request_reviews")
    return {
        "allow_force_pushes": enabled("allow_force_pushes"),
        "allow_deletions": enabled("allow_deletions"),
        "enforce_admins": enabled("enforce_admins"),
        "requires_pull_request": isinstance(reviews, Mapping),
        "required_approving_review_count": (
            int(reviews.get("required_approving_review_count") or 0)
            if isinstance(reviews, Mapping)
            else 0
        ),
        "requires_status_checks": isinstance(data.get("required_status_checks"), Mapping),
    }


@dataclass(slots=True)
class RepoScan:
    """Everything one poll learned about one repository."""

    repo: Repo
    settings: dict[str, Any] = field(default_factory=dict)
    workflows: list[WorkflowFindings] = field(default_factory=list)
    invalid_workflows: list[str] = field(default_factory=list)
    secret_alerts: list[dict[str, Any]] = field(default_factory=list)
    dependabot_alerts: list[dict[str, Any]] = field(default_factory=list)
    code_scanning_alerts: list[dict[str, Any]] = field(default_factory=list)
    protection: dict[str, Any] | None = None  # None: default branch unprotected
    unavailable: dict[str, str] = field(default_factory=dict)  # feature → reason
