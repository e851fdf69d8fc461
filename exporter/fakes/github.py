"""A fake GitHub REST API for tests and the demo estate.

Serves, from a mutable :class:`FakeGitHub`, the endpoints the GitHub collector reads, in the
shapes GitHub documents (fields the collector does not read are mostly left out):

- ``GET /orgs/{org}/repos`` — https://docs.github.com/en/rest/repos/repos#list-organization-repositories
- ``GET /repos/{o}/{r}/actions/permissions`` —
  https://docs.github.com/en/rest/actions/permissions#get-github-actions-permissions-for-a-repository
- ``…/actions/permissions/workflow`` —
  https://docs.github.com/en/rest/actions/permissions#get-default-workflow-permissions-for-a-repository
- ``…/actions/permissions/fork-pr-contributor-approval`` —
  https://docs.github.com/en/rest/actions/permissions#get-fork-pr-contributor-approval-permissions-for-a-repository
- ``…/actions/permissions/fork-pr-workflows-private-repos`` —
  https://docs.github.com/en/rest/actions/permissions#get-private-repo-fork-pr-workflow-settings-for-a-repository
- ``GET /repos/{o}/{r}/contents/{path}`` (directory listing and base64 file) —
  https://docs.github.com/en/rest/repos/contents#get-repository-content
- ``…/secret-scanning/alerts`` (``state``, ``hide_secret``) —
  https://docs.github.com/en/rest/secret-scanning/secret-scanning#list-secret-scanning-alerts-for-a-repository
- ``…/dependabot/alerts`` —
  https://docs.github.com/en/rest/dependabot/alerts#list-dependabot-alerts-for-a-repository
- ``…/code-scanning/alerts`` —
  https://docs.github.com/en/rest/code-scanning/code-scanning#list-code-scanning-alerts-for-a-repository
- ``…/branches/{branch}/protection`` (404 "Branch not protected") —
  https://docs.github.com/en/rest/branches/branch-protection#get-branch-protection

Cross-cutting behaviour as documented: ``page``/``per_page`` with an RFC 8288 ``Link`` header
(https://docs.github.com/en/rest/using-the-rest-api/using-pagination-in-the-rest-api); a strong
``ETag`` on every 200 and ``304 Not Modified`` for a matching ``If-None-Match``, which does not
use up the rate limit (…/using-the-rest-api/best-practices-for-using-the-rest-api, "Use
conditional requests if appropriate");
``X-RateLimit-Limit/-Remaining/-Used/-Reset`` on every answer, and 403 with
``X-RateLimit-Remaining: 0`` once exhausted (…/rate-limits-for-the-rest-api); 401 "Bad
credentials" for a wrong ``Authorization: Bearer`` token. A feature switched off for a repository
answers as GitHub does: 404 (secret scanning, code scanning "no analysis found") or 403
(Dependabot alerts disabled), each with a ``message``.

Control API (JSON, under ``/__fake__/``; never authenticated)::

    GET    /__fake__/state                          every org and repository
    POST   /__fake__/repos                          {"org", "name", ...FakeRepo fields}
    PATCH  /__fake__/repos/{org}/{name}             merge FakeRepo fields
    PUT    /__fake__/repos/{org}/{name}/workflows/{file}   body: {"content": "<yaml>"} (a push)
    POST   /__fake__/repos/{org}/{name}/alerts/{kind}      kind: secret_scanning | dependabot |
                                                    code_scanning; body: a full alert object
    POST   /__fake__/fail   {"path": "/repos/*/dependabot/alerts", "status": 500, "count": 1}
                            modes: status (default) | slow ("delay") | malformed |
                            rate_limit (403, remaining 0) | secondary (429 + Retry-After)
    DELETE /__fake__/fail
    GET    /__fake__/requests     [{"path", "status", "conditional"}];  DELETE clears them
"""

from __future__ import annotations

import asyncio
import base64
import fnmatch
import hashlib
import hmac
import json
import time
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import asdict, dataclass, field, fields, replace
from typing import Any

from aiohttp import web

API_DOCS = "https://docs.github.com/rest"
ALERT_KINDS = ("secret_scanning", "dependabot", "code_scanning")
# GitHub's answers when a feature is off for the repository.
_OFF = {
    "secret_scanning": (404, "Secret scanning is disabled on this repository."),
    "code_scanning": (404, "no analysis found"),
    "dependabot": (403, "Dependabot alerts are disabled for this repository."),
}


def _protected() -> dict[str, Any]:
    return {
        "required_status_checks": {"strict": True, "contexts": ["ci"]},
        "required_pull_request_reviews": {"required_approving_review_count": 1},
        "enforce_admins": {"enabled": True},
        "allow_force_pushes": {"enabled": False},
        "allow_deletions": {"enabled": False},
    }


@dataclass
class FakeRepo:
    """One repository's settings and findings; the defaults describe a well-kept repository."""

    private: bool = False
    default_branch: str = "main"
    archived: bool = False
    pushed_at: str = "2024-05-01T10:00:00Z"
    actions_enabled: bool = True
    allowed_actions: str = "selected"
    default_workflow_permissions: str = "read"
    can_approve_pull_request_reviews: bool = False
    fork_pr_approval: str = "all_external_contributors"
    fork_pr_private: dict[str, bool] = field(
        default_factory=lambda: {
            "run_workflows_from_fork_pull_requests": False,
            "send_write_tokens_to_workflows": False,
            "send_secrets_and_variables": False,
            "require_approval_for_fork_pr_workflows": True,
        }
    )
    workflows: dict[str, str] = field(default_factory=dict)  # file name → YAML text
    alerts: dict[str, list[dict[str, Any]]] = field(
        default_factory=lambda: {kind: [] for kind in ALERT_KINDS}
    )
    protection: dict[str, Any] | None = field(default_factory=_protected)
    disabled: list[str] = field(default_factory=list)  # ALERT_KINDS switched off


@dataclass
class Failure:
    path: str = "*"
    mode: str = "status"  # status | slow | malformed | rate_limit | secondary
    status: int = 500
    delay: float = 0.0
    retry_after: int = 60


@dataclass
class FakeGitHub:
    orgs: dict[str, dict[str, FakeRepo]] = field(default_factory=dict)
    token: str | None = None
    rate_limit: int = 5000
    used: int = 0
    reset_at: int = field(default_factory=lambda: int(time.time()) + 3600)
    failures: deque[Failure] = field(default_factory=deque)
    requests: list[dict[str, Any]] = field(default_factory=list)

    def repo(self, org: str, name: str) -> FakeRepo:
        try:
            return self.orgs[org][name]
        except KeyError:
            raise _error(404, "Not Found") from None

    def add_repo(self, org: str, name: str, **settings: Any) -> FakeRepo:
        repo = FakeRepo(**settings)
        self.orgs.setdefault(org, {})[name] = repo
        return repo


FAKE_KEY = web.AppKey("fake_github", FakeGitHub)
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
Producer = Callable[[web.Request, FakeGitHub], Any]


class _Refusal(Exception):
    """An error answer in GitHub's shape: ``{"message", "documentation_url"}``."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


def _error(status: int, message: str) -> _Refusal:
    return _Refusal(status, message)


# Alert builders in the documented shapes (tests and the control API use them).
def secret_alert(number: int, secret_type: str, secret: str, state: str = "open") -> dict[str, Any]:
    return {
        "number": number,
        "created_at": "2024-05-02T08:00:00Z",
        "html_url": f"https://github.com/alerts/secret/{number}",
        "state": state,
        "resolution": None if state == "open" else "revoked",
        "secret_type": secret_type,
        "secret_type_display_name": secret_type.replace("_", " ").title(),
        "secret": secret,
        "validity": "active",
        "push_protection_bypassed": False,
    }


def dependabot_alert(
    number: int, package: str, severity: str, score: float, cve: str = "", state: str = "open"
) -> dict[str, Any]:
    return {
        "number": number,
        "state": state,
        "dependency": {
            "package": {"ecosystem": "npm", "name": package},
            "manifest_path": "package-lock.json",
            "scope": "runtime",
        },
        "security_advisory": {
            "ghsa_id": f"GHSA-{number:04d}-abcd-efgh",
            "cve_id": cve or None,
            "summary": f"Vulnerability in {package}",
            "severity": severity,
            "cvss": {"score": score, "vector_string": None},
        },
        "security_vulnerability": {"package": {"ecosystem": "npm", "name": package}},
        "html_url": f"https://github.com/alerts/dependabot/{number}",
        "created_at": "2024-05-02T08:00:00Z",
    }


def code_scanning_alert(
    number: int, rule: str, security_severity: str, state: str = "open"
) -> dict[str, Any]:
    return {
        "number": number,
        "state": state,
        "rule": {
            "id": rule,
            "severity": "error",
            "security_severity_level": security_severity,
            "description": rule,
        },
        "tool": {"name": "CodeQL", "version": "2.17.0"},
        "html_url": f"https://github.com/alerts/code/{number}",
        "created_at": "2024-05-02T08:00:00Z",
    }


def _repo_document(org: str, name: str, repo: FakeRepo) -> dict[str, Any]:
    status = "disabled" if "secret_scanning" in repo.disabled else "enabled"
    return {
        "id": int(hashlib.sha256(f"{org}/{name}".encode()).hexdigest()[:8], 16),
        "name": name,
        "full_name": f"{org}/{name}",
        "owner": {"login": org, "type": "Organization"},
        "private": repo.private,
        "visibility": "private" if repo.private else "public",
        "fork": False,
        "archived": repo.archived,
        "default_branch": repo.default_branch,
        "pushed_at": repo.pushed_at,
        "html_url": f"https://github.com/{org}/{name}",
        "security_and_analysis": {"secret_scanning": {"status": status}},
    }


def _rate_headers(fake: FakeGitHub) -> dict[str, str]:
    return {
        "X-RateLimit-Limit": str(fake.rate_limit),
        "X-RateLimit-Remaining": str(max(0, fake.rate_limit - fake.used)),
        "X-RateLimit-Used": str(fake.used),
        "X-RateLimit-Reset": str(fake.reset_at),
        "X-RateLimit-Resource": "core",
    }


def _json(status: int, data: Any, headers: dict[str, str]) -> web.Response:
    return web.Response(
        status=status, text=json.dumps(data), content_type="application/json", headers=headers
    )


def _next_failure(fake: FakeGitHub, path: str) -> Failure | None:
    for failure in fake.failures:
        if fnmatch.fnmatchcase(path, failure.path):
            fake.failures.remove(failure)
            return failure
    return None


def _authorized(request: web.Request, fake: FakeGitHub) -> bool:
    if fake.token is None:
        return True
    scheme, _, sent = request.headers.get("Authorization", "").partition(" ")
    return scheme.lower() in ("bearer", "token") and hmac.compare_digest(
        sent.encode(), fake.token.encode()
    )


def _page(request: web.Request, data: list[Any], headers: dict[str, str]) -> list[Any]:
    per_page = min(int(request.query.get("per_page", "30")), 100)
    page = max(int(request.query.get("page", "1")), 1)
    last = max(1, -(-len(data) // per_page))
    links = []
    if page < last:
        links.append(f'<{request.url.update_query(page=str(page + 1))}>; rel="next"')
        links.append(f'<{request.url.update_query(page=str(last))}>; rel="last"')
    if page > 1:
        links.append(f'<{request.url.update_query(page=str(page - 1))}>; rel="prev"')
        links.append(f'<{request.url.update_query(page="1")}>; rel="first"')
    if links:
        headers["Link"] = ", ".join(links)
    return data[(page - 1) * per_page : page * per_page]


async def _answer(
    request: web.Request, fake: FakeGitHub, produce: Producer, paginate: bool
) -> web.Response:
    headers = _rate_headers(fake)
    if not _authorized(request, fake):
        raise _error(401, "Bad credentials")
    failure = _next_failure(fake, request.path)
    if failure is not None:
        if failure.mode == "slow":
            await asyncio.sleep(failure.delay)
        elif failure.mode == "malformed":
            return web.Response(text='[{"name": "api", ', content_type="application/json")
        elif failure.mode == "rate_limit":
            fake.used = fake.rate_limit
        elif failure.mode == "secondary":
            headers["Retry-After"] = str(failure.retry_after)
            return _json(429, {"message": "You have exceeded a secondary rate limit."}, headers)
        else:
            raise _error(failure.status, "Server Error")
    if fake.used >= fake.rate_limit:
        message = "API rate limit exceeded for installation."
        return _json(403, {"message": message, "documentation_url": API_DOCS}, _rate_headers(fake))
    data = produce(request, fake)
    if paginate:
        data = _page(request, data, headers)
    body = json.dumps(data, sort_keys=True)
    etag = '"' + hashlib.sha256((body + headers.get("Link", "")).encode()).hexdigest()[:40] + '"'
    headers["ETag"] = etag
    if request.headers.get("If-None-Match") == etag:
        return web.Response(status=304, headers=headers)  # free: no rate limit used
    fake.used += 1
    headers.update(_rate_headers(fake))
    return web.Response(text=body, content_type="application/json", headers=headers)


def api(produce: Producer, *, paginate: bool = False) -> Handler:
    async def handler(request: web.Request) -> web.StreamResponse:
        fake = request.app[FAKE_KEY]
        try:
            response = await _answer(request, fake, produce, paginate)
        except _Refusal as refusal:
            body = {"message": refusal.message, "documentation_url": API_DOCS}
            response = _json(refusal.status, body, _rate_headers(fake))
        fake.requests.append(
            {
                "path": request.path,
                "status": response.status,
                "conditional": "If-None-Match" in request.headers,
            }
        )
        return response

    return handler


def _repo(request: web.Request, fake: FakeGitHub) -> FakeRepo:
    return fake.repo(request.match_info["owner"], request.match_info["repo"])


def list_repos(request: web.Request, fake: FakeGitHub) -> Any:
    org = request.match_info["org"]
    if org not in fake.orgs:
        raise _error(404, "Not Found")
    return [_repo_document(org, n, r) for n, r in sorted(fake.orgs[org].items())]


def actions_permissions(request: web.Request, fake: FakeGitHub) -> Any:
    repo = _repo(request, fake)
    if not repo.actions_enabled:
        return {"enabled": False}
    return {"enabled": True, "allowed_actions": repo.allowed_actions}


def workflow_permissions(request: web.Request, fake: FakeGitHub) -> Any:
    repo = _repo(request, fake)
    return {
        "default_workflow_permissions": repo.default_workflow_permissions,
        "can_approve_pull_request_reviews": repo.can_approve_pull_request_reviews,
    }


def fork_pr_approval(request: web.Request, fake: FakeGitHub) -> Any:
    return {"approval_policy": _repo(request, fake).fork_pr_approval}


def fork_pr_private(request: web.Request, fake: FakeGitHub) -> Any:
    repo = _repo(request, fake)
    if not repo.private:
        raise _error(403, "This setting is only available for private repositories.")
    return dict(repo.fork_pr_private)


def contents(request: web.Request, fake: FakeGitHub) -> Any:
    repo = _repo(request, fake)
    path = request.match_info["path"].strip("/")
    directory = ".github/workflows"
    if path == directory and repo.workflows:
        return [
            {
                "type": "file",
                "name": name,
                "path": f"{directory}/{name}",
                "sha": hashlib.sha1(text.encode()).hexdigest(),  # noqa: S324 - git blob id
                "size": len(text.encode()),
            }
            for name, text in sorted(repo.workflows.items())
        ]
    head, _, name = path.rpartition("/")
    if head == directory and name in repo.workflows:
        raw = repo.workflows[name].encode()
        encoded = base64.encodebytes(raw).decode()  # GitHub wraps base64 at 60-76 columns too
        return {
            "type": "file",
            "encoding": "base64",
            "name": name,
            "path": path,
            "size": len(raw),
            "sha": hashlib.sha1(raw).hexdigest(),  # noqa: S324 - git blob id
            "content": encoded,
        }
    raise _error(404, "Not Found")


def alerts(kind: str) -> Producer:
    def produce(request: web.Request, fake: FakeGitHub) -> Any:
        repo = _repo(request, fake)
        if kind in repo.disabled:
            raise _error(*_OFF[kind])
        wanted = request.query.get("state")
        found = [
            dict(a) for a in repo.alerts[kind] if wanted is None or a["state"] in wanted.split(",")
        ]
        if kind == "secret_scanning" and request.query.get("hide_secret") == "true":
            for alert in found:
                alert.pop("secret", None)
        return found

    return produce


def protection(request: web.Request, fake: FakeGitHub) -> Any:
    repo = _repo(request, fake)
    if request.match_info["branch"] != repo.default_branch or repo.protection is None:
        raise _error(404, "Branch not protected")
    return {"url": str(request.url), **repo.protection}


# Control API.
def _public(fake: FakeGitHub) -> dict[str, Any]:
    return {org: {n: asdict(r) for n, r in repos.items()} for org, repos in fake.orgs.items()}


async def get_state(request: web.Request) -> web.Response:
    return web.json_response(_public(request.app[FAKE_KEY]))


def _check_fields(changes: Any) -> None:
    known = {f.name for f in fields(FakeRepo)}
    if not isinstance(changes, dict) or set(changes) - known:
        raise web.HTTPBadRequest(text=f"fields must be among {sorted(known)}")


async def add_repo(request: web.Request) -> web.Response:
    spec = dict(await request.json())
    org, name = spec.pop("org"), spec.pop("name")
    _check_fields(spec)
    request.app[FAKE_KEY].add_repo(org, name, **spec)
    return web.json_response({"created": f"{org}/{name}"})


async def patch_repo(request: web.Request) -> web.Response:
    fake = request.app[FAKE_KEY]
    org, name = request.match_info["org"], request.match_info["name"]
    changes = await request.json()
    _check_fields(changes)
    fake.orgs[org][name] = replace(fake.repo(org, name), **changes)
    return web.json_response(asdict(fake.orgs[org][name]))


async def put_workflow(request: web.Request) -> web.Response:
    fake = request.app[FAKE_KEY]
    repo = fake.repo(request.match_info["org"], request.match_info["name"])
    repo.workflows[request.match_info["file"]] = (await request.json())["content"]
    # A workflow only changes by a push, and a push moves pushed_at.
    repo.pushed_at = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()) + f"#{len(fake.requests)}"
    return web.json_response({"workflows": sorted(repo.workflows)})


async def add_alert(request: web.Request) -> web.Response:
    fake = request.app[FAKE_KEY]
    repo = fake.repo(request.match_info["org"], request.match_info["name"])
    kind = request.match_info["kind"]
    if kind not in ALERT_KINDS:
        raise web.HTTPNotFound(text=f"kinds: {ALERT_KINDS}")
    repo.alerts[kind].append(await request.json())
    return web.json_response({"alerts": len(repo.alerts[kind])})


async def add_failure(request: web.Request) -> web.Response:
    spec = dict(await request.json())
    count = int(spec.pop("count", 1))
    failure = Failure(**spec)
    request.app[FAKE_KEY].failures.extend(replace(failure) for _ in range(count))
    return web.json_response({"queued": len(request.app[FAKE_KEY].failures)})


async def clear_failures(request: web.Request) -> web.Response:
    request.app[FAKE_KEY].failures.clear()
    return web.json_response({"queued": 0})


async def list_requests(request: web.Request) -> web.Response:
    return web.json_response(request.app[FAKE_KEY].requests)


async def clear_requests(request: web.Request) -> web.Response:
    request.app[FAKE_KEY].requests.clear()
    return web.json_response({"requests": 0})


def create_app(fake: FakeGitHub | None = None, *, prefix: str = "") -> web.Application:
    """The fake; ``prefix="/api/v3"`` serves the API where GitHub Enterprise Server does."""
    app = web.Application()
    app[FAKE_KEY] = fake or FakeGitHub()
    repo = prefix + "/repos/{owner}/{repo}"
    actions = repo + "/actions/permissions"
    add = app.router.add_get
    add(prefix + "/orgs/{org}/repos", api(list_repos, paginate=True))
    add(actions, api(actions_permissions))
    add(actions + "/workflow", api(workflow_permissions))
    add(actions + "/fork-pr-contributor-approval", api(fork_pr_approval))
    add(actions + "/fork-pr-workflows-private-repos", api(fork_pr_private))
    add(repo + "/contents/{path:.+}", api(contents))
    add(repo + "/secret-scanning/alerts", api(alerts("secret_scanning"), paginate=True))
    add(repo + "/dependabot/alerts", api(alerts("dependabot"), paginate=True))
    add(repo + "/code-scanning/alerts", api(alerts("code_scanning"), paginate=True))
    add(repo + "/branches/{branch}/protection", api(protection))
    add("/__fake__/state", get_state)
    app.router.add_post("/__fake__/repos", add_repo)
    app.router.add_patch("/__fake__/repos/{org}/{name}", patch_repo)
    app.router.add_put("/__fake__/repos/{org}/{name}/workflows/{file}", put_workflow)
    app.router.add_post("/__fake__/repos/{org}/{name}/alerts/{kind}", add_alert)
    app.router.add_post("/__fake__/fail", add_failure)
    app.router.add_delete("/__fake__/fail", clear_failures)
    add("/__fake__/requests", list_requests)
    app.router.add_delete("/__fake__/requests", clear_requests)
    return app
