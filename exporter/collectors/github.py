"""GitHub posture: Actions settings, workflow files, security alerts and branch protection.

For each configured organisation, ``GET /orgs/{org}/repos`` (``per_page=100``, ``Link``
pagination) lists the repositories; then, per repository, with at most ``concurrency``
repositories in flight:

=====================================================================  ===========================
``GET /repos/{o}/{r}/actions/permissions``                             ``allowed_actions``
``GET /repos/{o}/{r}/actions/permissions/workflow``                    token default, PR approval
``GET /repos/{o}/{r}/actions/permissions/fork-pr-contributor-approval``  ``approval_policy``
``GET /repos/{o}/{r}/actions/permissions/fork-pr-workflows-private-repos``  private repos only
``GET /repos/{o}/{r}/contents/.github/workflows`` + each file          workflow analysis
``GET /repos/{o}/{r}/secret-scanning/alerts?state=open&hide_secret=true``  open secret alerts
``GET /repos/{o}/{r}/dependabot/alerts?state=open``                    with CVSS and severity
``GET /repos/{o}/{r}/code-scanning/alerts?state=open``                 by severity
``GET /repos/{o}/{r}/branches/{default}/protection``                   404 means unprotected
=====================================================================  ===========================

Every GET is conditional (``If-None-Match``): GitHub answers an unchanged resource with 304,
which does not count against the rate limit, so a second refresh with nothing changed is free.
Two answers carry no ETag and would cost a request on every refresh; both are avoided: a
repository without a workflow directory (404) is not asked again until its ``pushed_at``
changes (workflow files only change by a push), and secret scanning is not asked where the
repository listing says it is ``disabled``.

A 403 or 404 from one check (secret scanning off, Dependabot alerts off, code scanning never set
up, a fine-grained token without that permission) marks that check *unavailable* for that
repository (``secmon_github_feature_unavailable``) and the poll goes on; that check is not
asked again for ``feature_recheck_seconds`` (an hour by default), since such answers carry no
ETag and would cost a rate-limited request per repository on every poll. Anything else — a 5xx,
a timeout, a malformed answer, an exhausted rate limit (403/429 with a reset time) — fails the
whole poll, so the runtime keeps the last good snapshot, marks it stale and backs off until the
reset. Events and metrics are described in :mod:`exporter.collectors.github_report`.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import fnmatch
import logging
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Annotated, Any, Literal
from urllib.parse import quote

from pydantic import Field, HttpUrl, SecretStr, field_validator, model_validator

from exporter.collectors.base import CollectorError, Snapshot
from exporter.collectors.github_parse import (
    Repo,
    RepoScan,
    flag,
    items,
    obj,
    parse_code_scanning_alert,
    parse_dependabot_alert,
    parse_protection,
    parse_repo,
    parse_secret_alert,
    text,
)
from exporter.collectors.github_report import metrics, repo_events
from exporter.collectors.github_workflows import WorkflowParseError, analyse
from exporter.collectors.httpapi import ApiClient
from exporter.config import CollectorConfig

log = logging.getLogger(__name__)

_PAGE = {"per_page": "100"}
_WORKFLOW_DIR = ".github/workflows"
# Ask GitHub to leave the leaked value out of secret-scanning answers (parse_secret_alert
# drops it as well, for servers that predate the parameter).
_HIDE_SECRET = {"hide_secret": "true"}


class GitHubConfig(CollectorConfig):
    """``type: github``: organisations on github.com or a GitHub Enterprise Server."""

    type: Literal["github"]
    # GitHub Enterprise Server: https://HOST/api/v3
    base_url: HttpUrl = HttpUrl("https://api.github.com")
    token: SecretStr | None = None
    token_file: Path | None = None
    organizations: Annotated[list[Annotated[str, Field(min_length=1)]], Field(min_length=1)]
    # fnmatch patterns on "org/name"; empty means every repository of the organisations.
    repositories: list[str] = Field(default_factory=list)
    include_archived: bool = False
    concurrency: Annotated[int, Field(ge=1, le=32)] = 4
    # A check that answered "off" (403/404) is not asked again for this long: such answers
    # carry no ETag, so re-asking would cost a rate-limited request per repository per poll.
    feature_recheck_seconds: Annotated[float, Field(ge=0)] = 3600.0
    verify_tls: bool = True
    interval: Annotated[float, Field(gt=0, le=86400)] = 300.0

    @field_validator("base_url")
    @classmethod
    def _no_userinfo(cls, value: HttpUrl) -> HttpUrl:
        if value.username or value.password:
            raise ValueError("must not contain credentials; use token or token_file")
        return value

    @model_validator(mode="after")
    def _one_token_source(self) -> GitHubConfig:
        if (self.token is None) == (self.token_file is None):
            raise ValueError("set exactly one of token or token_file")
        return self

    def resolved_token(self) -> str:
        if self.token is not None:
            return self.token.get_secret_value()
        assert self.token_file is not None  # guaranteed by _one_token_source
        try:
            return self.token_file.read_text(encoding="utf-8").strip()
        except OSError as exc:
            raise CollectorError(
                f"cannot read token_file {self.token_file}: {exc.strerror}", reason="config"
            ) from None


def _feature_off(exc: CollectorError) -> bool:
    """A 403/404 that means "not enabled / not permitted here", not a rate limit."""
    return exc.reason in ("http_403", "http_404") and exc.retry_after is None


def _first_error(group: BaseExceptionGroup[Any]) -> BaseException:
    for exc in group.exceptions:
        if isinstance(exc, BaseExceptionGroup):
            return _first_error(exc)
        if isinstance(exc, CollectorError):
            return exc
    return group.exceptions[0]


class GitHubCollector:
    """Polls GitHub organisations into ``github_scanner`` events and per-repository metrics."""

    def __init__(self, config: GitHubConfig, *, clock: Callable[[], float] = time.time) -> None:
        self._config = config
        self._clock = clock
        self._client: ApiClient | None = None
        self._token: str | None = None
        # full_name → pushed_at when its workflow directory was last found missing.
        self._no_workflows: dict[str, str] = {}
        # (full_name, feature) → (reason, clock time until which it is taken as still off).
        self._off: dict[tuple[str, str], tuple[str, float]] = {}

    @property
    def name(self) -> str:
        return self._config.name

    @property
    def interval(self) -> float:
        return self._config.interval

    @property
    def client(self) -> ApiClient | None:
        return self._client

    async def _api(self) -> ApiClient:
        # Re-read each poll: an App installation token in token_file is replaced hourly.
        token = self._config.resolved_token()
        if self._client is not None and token == self._token:
            return self._client
        client = ApiClient(
            base_url=str(self._config.base_url),
            headers={
                "Authorization": f"Bearer {token}",
                "Accept": "application/vnd.github+json",
                "X-GitHub-Api-Version": "2022-11-28",
            },
            timeout=self._config.timeout,
            verify_tls=self._config.verify_tls,
            clock=self._clock,
        )
        if self._client is not None:
            # Same installation, new token: ETags stay valid and counters stay monotonic.
            client._etags = self._client._etags
            client.stats, client.rate_limit = self._client.stats, self._client.rate_limit
            await self._client.close()
        self._client, self._token = client, token
        return client

    def _wanted(self, repo: Repo) -> bool:
        if repo.archived and not self._config.include_archived:
            return False
        patterns = self._config.repositories
        return not patterns or any(fnmatch.fnmatchcase(repo.full_name, p) for p in patterns)

    async def _org_repos(self, api: ApiClient, org: str) -> list[Repo]:
        repos: list[Repo] = []
        path = f"orgs/{quote(org)}/repos"
        async for page in api.paginate_links(path, params=_PAGE, conditional=True):
            repos.extend(parse_repo(item, org) for item in items(page.data, f"{org} repos"))
        return [r for r in repos if self._wanted(r)]

    async def poll(self) -> Snapshot:
        api = await self._api()
        repos: list[Repo] = []
        for org in self._config.organizations:
            repos.extend(await self._org_repos(api, org))
        limit = asyncio.Semaphore(self._config.concurrency)

        async def scan(repo: Repo) -> RepoScan:
            async with limit:
                return await self._scan(api, repo)

        try:
            async with asyncio.TaskGroup() as group:
                tasks = [group.create_task(scan(repo)) for repo in repos]
        except BaseExceptionGroup as failed:
            # The runtime counts CollectorError reasons; hand it the first one, not the group.
            raise _first_error(failed) from None
        scans = [task.result() for task in tasks]
        now = self._clock()
        env = self._config.environment
        events = [event for s in scans for event in repo_events(s, environment=env, now=now)]
        families = metrics(
            self.name,
            scans,
            self._config.organizations,
            rate_limit=api.rate_limit,
            stats=api.stats,
        )
        return Snapshot(events=events, taken_at=now, metrics=families)

    def _still_off(self, scan: RepoScan, feature: str) -> bool:
        """True (and ``feature`` marked unavailable) while a recent 403/404 still holds."""
        known = self._off.get((scan.repo.full_name, feature))
        if known is None or known[1] <= self._clock():
            return False
        scan.unavailable[feature] = known[0]
        return True

    def _mark_off(self, scan: RepoScan, feature: str, reason: str) -> None:
        scan.unavailable[feature] = reason
        until = self._clock() + self._config.feature_recheck_seconds
        self._off[(scan.repo.full_name, feature)] = (reason, until)
        log.debug("github %s: %s unavailable (%s)", scan.repo.full_name, feature, reason)

    async def _optional(
        self, api: ApiClient, scan: RepoScan, feature: str, path: str
    ) -> Mapping[str, Any] | None:
        """GET an object, or None with ``feature`` marked unavailable on a feature-off 403/404."""
        if self._still_off(scan, feature):
            return None
        try:
            response = await api.get(path, conditional=True)
        except CollectorError as exc:
            if not _feature_off(exc):
                raise
            self._mark_off(scan, feature, exc.reason)
            return None
        self._off.pop((scan.repo.full_name, feature), None)
        return obj(response.data, path)

    async def _alerts(
        self, api: ApiClient, scan: RepoScan, feature: str, path: str, **params: str
    ) -> list[Mapping[str, Any]]:
        if self._still_off(scan, feature):
            return []
        found: list[Mapping[str, Any]] = []
        try:
            async for page in api.paginate_links(
                path, params={**_PAGE, "state": "open", **params}, conditional=True
            ):
                found.extend(items(page.data, path))
        except CollectorError as exc:
            if not _feature_off(exc):
                raise
            self._mark_off(scan, feature, exc.reason)
            return []
        self._off.pop((scan.repo.full_name, feature), None)
        return found

    async def _scan(self, api: ApiClient, repo: Repo) -> RepoScan:
        scan = RepoScan(repo)
        base = f"repos/{quote(repo.org)}/{quote(repo.name)}"
        actions = f"{base}/actions/permissions"
        settings = scan.settings
        if (perms := await self._optional(api, scan, "actions_permissions", actions)) is not None:
            settings["actions_enabled"] = flag(perms, "enabled", actions)
            # Absent when Actions is disabled for the repository.
            if isinstance(perms.get("allowed_actions"), str):
                settings["allowed_actions"] = perms["allowed_actions"]
        path = f"{actions}/workflow"
        if (wf := await self._optional(api, scan, "workflow_permissions", path)) is not None:
            settings["default_workflow_permissions"] = text(
                wf, "default_workflow_permissions", path
            )
            settings["can_approve_pull_request_reviews"] = flag(
                wf, "can_approve_pull_request_reviews", path
            )
        path = f"{actions}/fork-pr-contributor-approval"
        if (fork := await self._optional(api, scan, "fork_pr_approval", path)) is not None:
            settings["fork_pr_approval"] = text(fork, "approval_policy", path)
        if repo.private:
            path = f"{actions}/fork-pr-workflows-private-repos"
            if (private := await self._optional(api, scan, "fork_pr_private", path)) is not None:
                settings["fork_pr_workflows_private"] = flag(
                    private, "run_workflows_from_fork_pull_requests", path
                )
                settings["fork_pr_send_secrets"] = bool(private.get("send_secrets_and_variables"))
                settings["fork_pr_send_write_tokens"] = bool(
                    private.get("send_write_tokens_to_workflows")
                )
        await self._workflows(api, scan, base)
        if repo.secret_scanning == "disabled":  # noqa: S105 - a feature status, not a password
            scan.unavailable["secret_scanning"] = "disabled"  # noqa: S105 - same
        else:
            path = f"{base}/secret-scanning/alerts"
            raw = await self._alerts(api, scan, "secret_scanning", path, **_HIDE_SECRET)
            scan.secret_alerts = [parse_secret_alert(a) for a in raw]
        raw = await self._alerts(api, scan, "dependabot", f"{base}/dependabot/alerts")
        scan.dependabot_alerts = [parse_dependabot_alert(a) for a in raw]
        raw = await self._alerts(api, scan, "code_scanning", f"{base}/code-scanning/alerts")
        scan.code_scanning_alerts = [parse_code_scanning_alert(a) for a in raw]
        await self._protection(api, scan, base)
        return scan

    async def _protection(self, api: ApiClient, scan: RepoScan, base: str) -> None:
        if self._still_off(scan, "branch_protection"):
            return
        path = f"{base}/branches/{quote(scan.repo.default_branch, safe='')}/protection"
        try:
            response = await api.get(path, conditional=True)
        except CollectorError as exc:
            if exc.reason == "http_404" and exc.retry_after is None:
                scan.protection = None  # "Branch not protected": data, asked every poll
            elif _feature_off(exc):
                # 403: e.g. protection needs GitHub Pro/Team for private repositories.
                self._mark_off(scan, "branch_protection", exc.reason)
            else:
                raise
            return
        scan.protection = parse_protection(obj(response.data, path))

    async def _workflows(self, api: ApiClient, scan: RepoScan, base: str) -> None:
        repo = scan.repo
        if repo.pushed_at and self._no_workflows.get(repo.full_name) == repo.pushed_at:
            return  # no push since the directory was found missing
        try:
            listing = await api.get(f"{base}/contents/{_WORKFLOW_DIR}", conditional=True)
        except CollectorError as exc:
            if exc.reason == "http_404" and exc.retry_after is None:
                self._no_workflows[repo.full_name] = repo.pushed_at
            elif _feature_off(exc):
                scan.unavailable["workflows"] = exc.reason
            else:
                raise
            return
        self._no_workflows.pop(repo.full_name, None)
        for entry in items(listing.data, f"{base} workflow directory"):
            name = text(entry, "name", "workflow directory entry")
            if entry.get("type") != "file" or not name.endswith((".yml", ".yaml")):
                continue
            path = text(entry, "path", "workflow directory entry")
            file = await api.get(f"{base}/contents/{quote(path)}", conditional=True)
            content = obj(file.data, path)
            if content.get("encoding") != "base64":
                # Files over 1 MB come back with encoding "none" and no content.
                scan.invalid_workflows.append(path)
                continue
            try:
                source = base64.b64decode(text(content, "content", path)).decode("utf-8")
                scan.workflows.append(analyse(source, name=path))
            except (binascii.Error, UnicodeDecodeError, WorkflowParseError):
                scan.invalid_workflows.append(path)

    async def close(self) -> None:
        if self._client is not None:
            await self._client.close()
            await asyncio.sleep(0)
