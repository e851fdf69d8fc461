"""Per-repository scan results → normalized events and metric families.

Events (source ``github_scanner``, platform ``github``, asset ``org/repo``, all *state*):

- ``repository_settings``: ``repository``, ``visibility``, ``allowed_actions``,
  ``default_workflow_permissions``, ``can_approve_pull_request_reviews``, ``fork_pr_approval``,
  and for private repositories ``fork_pr_workflows_private``, ``fork_pr_send_secrets``,
  ``fork_pr_send_write_tokens`` — only the fields that could be read;
- ``workflow_scan`` per workflow file: ``repository``, ``workflow_name``, ``path``,
  ``triggers``, ``checks_out_pr_head``, ``secrets_in_logs``, ``secrets_echoed`` (names only),
  ``unpinned_actions``, ``public_fork_access``, ``unrestricted_workflow_run``;
- ``secret_scanning_alert``, ``dependabot_alert``, ``code_scanning_alert`` per open alert;
- ``branch_protection`` for the default branch: ``repository``, ``branch``, ``is_default``,
  ``protected`` and, when protected, ``allow_force_pushes``, ``enforce_admins`` and the review
  settings. An unprotected branch carries no ``allow_force_pushes``: that finding is the
  unprotected branch itself, reported once.

The seed's ``github_workflow_security`` flags, per workflow: ``public_fork_access`` — code from a
fork runs with this repository's secrets (``pull_request_target`` checking out the PR head, or
``pull_request`` in a private repository whose fork-PR setting sends secrets or write tokens);
``unrestricted_workflow_run`` — unpinned third-party actions while the repository allows *all*
actions, so nothing limits which code those references resolve to.

Metric lines (besides the shared ``secmon_collector_*`` self-metrics)::

    secmon_github_repositories{collector="gh",org="acme"} 250.0
    secmon_github_dependabot_alerts{collector="gh",org="acme",repo="api",severity="critical"} 1.0
    secmon_github_code_scanning_alerts{collector="gh",org="acme",repo="api",severity="high"} 2.0
    secmon_github_secret_scanning_alerts{collector="gh",org="acme",repo="api"} 1.0
    secmon_github_workflow_findings{collector="gh",finding="secrets_in_logs",org="acme",\
repo="api"} 1.0
    secmon_github_default_branch_protected{collector="gh",org="acme",repo="api"} 0.0
    secmon_github_actions_settings_info{allowed_actions="all",collector="gh",\
default_workflow_permissions="write",fork_pr_approval="first_time_contributors",org="acme",\
repo="api"} 1.0
    secmon_github_feature_unavailable{collector="gh",feature="secret_scanning",org="acme",\
reason="http_404",repo="api"} 1.0
    secmon_github_rate_limit_remaining{collector="gh"} 4987.0
    secmon_github_api_requests_total{collector="gh",status="304"} 1750.0

Alert detail (numbers, packages, CVE ids, URLs) travels only in events, never as labels.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from typing import Any

from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, InfoMetricFamily, Metric

from exporter.collectors.github_parse import Repo, RepoScan
from exporter.collectors.httpapi import RateLimit, RequestStats
from exporter.events import Event

SOURCE = "github_scanner"
SEVERITIES = ("critical", "high", "medium", "low")


def _event(scan: RepoScan, event_type: str, data: dict[str, Any], *, env: str, now: float) -> Event:
    return Event(
        source=SOURCE,
        event_type=event_type,
        platform="github",
        asset=scan.repo.full_name,
        environment=env,
        observed_at=now,
        data={"repository": scan.repo.full_name, **data},
    )


def _fork_code_gets_secrets(repo: Repo, settings: dict[str, Any]) -> bool:
    return repo.private and bool(
        settings.get("fork_pr_workflows_private")
        and (settings.get("fork_pr_send_secrets") or settings.get("fork_pr_send_write_tokens"))
    )


def repo_events(scan: RepoScan, *, environment: str, now: float) -> list[Event]:
    """Every event one repository's scan yields (see the module docstring)."""
    events: list[Event] = []
    settings = scan.settings
    if settings:
        data = {"visibility": "private" if scan.repo.private else "public", **settings}
        events.append(_event(scan, "repository_settings", data, env=environment, now=now))
    for wf in scan.workflows:
        fork_secrets = "pull_request" in wf.triggers and _fork_code_gets_secrets(
            scan.repo, settings
        )
        data = {
            "workflow_name": wf.name.rsplit("/", 1)[-1],
            "path": wf.name,
            "triggers": list(wf.triggers),
            "checks_out_pr_head": wf.checks_out_pr_head,
            "secrets_in_logs": bool(wf.secrets_echoed),
            "secrets_echoed": list(wf.secrets_echoed),
            "unpinned_actions": list(wf.unpinned_actions),
            "public_fork_access": wf.pr_target_checkout or fork_secrets,
            "unrestricted_workflow_run": bool(wf.unpinned_actions)
            and settings.get("allowed_actions") == "all",
        }
        events.append(_event(scan, "workflow_scan", data, env=environment, now=now))
    for kind, alerts in (
        ("secret_scanning_alert", scan.secret_alerts),
        ("dependabot_alert", scan.dependabot_alerts),
        ("code_scanning_alert", scan.code_scanning_alerts),
    ):
        events.extend(_event(scan, kind, dict(a), env=environment, now=now) for a in alerts)
    if "branch_protection" not in scan.unavailable:
        branch: dict[str, Any] = {
            "branch": scan.repo.default_branch,
            "is_default": True,
            "protected": scan.protection is not None,
            **(scan.protection or {}),
        }
        events.append(_event(scan, "branch_protection", branch, env=environment, now=now))
    return events


def _severity_counts(alerts: Sequence[dict[str, Any]]) -> Counter[str]:
    counts: Counter[str] = Counter(dict.fromkeys(SEVERITIES, 0))
    counts.update(str(a["severity"]) for a in alerts if a["state"] == "open")
    return counts


def metrics(
    name: str,
    scans: Sequence[RepoScan],
    orgs: Sequence[str],
    *,
    rate_limit: RateLimit,
    stats: RequestStats,
) -> list[Metric]:
    """The collector's metric families for one poll (see the module docstring)."""
    repos = GaugeMetricFamily(
        "secmon_github_repositories",
        "Repositories scanned, by organisation.",
        labels=["collector", "org"],
    )
    per_org = Counter(s.repo.org for s in scans)
    for org in orgs:
        repos.add_metric([name, org], per_org.get(org, 0))
    repo_labels = ["collector", "org", "repo"]
    dependabot = GaugeMetricFamily(
        "secmon_github_dependabot_alerts",
        "Open Dependabot alerts by advisory severity.",
        labels=[*repo_labels, "severity"],
    )
    code = GaugeMetricFamily(
        "secmon_github_code_scanning_alerts",
        "Open code scanning alerts by severity.",
        labels=[*repo_labels, "severity"],
    )
    secrets = GaugeMetricFamily(
        "secmon_github_secret_scanning_alerts", "Open secret scanning alerts.", labels=repo_labels
    )
    findings = GaugeMetricFamily(
        "secmon_github_workflow_findings",
        "Workflow files with a finding, by finding.",
        labels=[*repo_labels, "finding"],
    )
    protected = GaugeMetricFamily(
        "secmon_github_default_branch_protected",
        "1 if the default branch has a protection rule.",
        labels=repo_labels,
    )
    settings = InfoMetricFamily(
        "secmon_github_actions_settings", "Actions settings of the repository.", labels=repo_labels
    )
    unavailable = GaugeMetricFamily(
        "secmon_github_feature_unavailable",
        "1 for each check that could not be read (feature off, or no permission).",
        labels=[*repo_labels, "feature", "reason"],
    )
    for scan in sorted(scans, key=lambda s: (s.repo.org, s.repo.name)):
        labels = [name, scan.repo.org, scan.repo.name]
        if "dependabot" not in scan.unavailable:
            for severity, count in sorted(_severity_counts(scan.dependabot_alerts).items()):
                dependabot.add_metric([*labels, severity], count)
        if "code_scanning" not in scan.unavailable:
            for severity, count in sorted(_severity_counts(scan.code_scanning_alerts).items()):
                code.add_metric([*labels, severity], count)
        if "secret_scanning" not in scan.unavailable:
            open_secrets = sum(a["state"] == "open" for a in scan.secret_alerts)
            secrets.add_metric(labels, open_secrets)
        if "workflows" not in scan.unavailable:
            for finding, count in (
                ("pr_target_checkout", sum(w.pr_target_checkout for w in scan.workflows)),
                ("secrets_in_logs", sum(bool(w.secrets_echoed) for w in scan.workflows)),
                ("unpinned_actions", sum(bool(w.unpinned_actions) for w in scan.workflows)),
                ("invalid", len(scan.invalid_workflows)),
            ):
                findings.add_metric([*labels, finding], count)
        if "branch_protection" not in scan.unavailable:
            protected.add_metric(labels, int(scan.protection is not None))
        info: dict[str, str] = {
            k: str(scan.settings[k])
            for k in ("allowed_actions", "default_workflow_permissions", "fork_pr_approval")
            if k in scan.settings
        }
        if info:
            settings.add_metric(labels, info)
        for feature, reason in sorted(scan.unavailable.items()):
            unavailable.add_metric([*labels, feature, reason], 1)
    families: list[Metric] = [
        repos,
        dependabot,
        code,
        secrets,
        findings,
        protected,
        settings,
        unavailable,
    ]
    if rate_limit.remaining is not None:
        remaining = GaugeMetricFamily(
            "secmon_github_rate_limit_remaining",
            "Requests left in the current GitHub rate-limit window.",
            labels=["collector"],
        )
        remaining.add_metric([name], rate_limit.remaining)
        families.append(remaining)
    requests = CounterMetricFamily(
        "secmon_github_api_requests",
        "GitHub API requests since start, by HTTP status (304: served from the ETag cache).",
        labels=["collector", "status"],
    )
    for status, count in sorted(stats.by_status.items()):
        requests.add_metric([name, str(status)], count)
    families.append(requests)
    return families
