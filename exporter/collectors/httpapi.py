"""One HTTP client for every REST collector: timeouts, errors, rate limits, ETags, pagination.

Each platform collector builds an :class:`ApiClient` with its base URL and auth headers and
asks it for JSON. Everything that should behave the same across platforms lives here once:

- every failure becomes a :class:`~exporter.collectors.base.CollectorError` with a label-safe
  ``reason`` (``http_<status>``, ``timeout``, ``connection``, ``malformed``) and, for 429/503 or
  an exhausted rate limit, ``retry_after`` seconds that the runtime's backoff honours;
- ``X-RateLimit-Remaining`` / ``X-RateLimit-Reset`` (GitHub, Vercel, Netlify) and
  ``Retry-After`` (seconds or an HTTP date) are read on every answer;
- conditional requests: with ``conditional=True`` the last ``ETag`` of a URL is sent as
  ``If-None-Match`` and a ``304`` returns the cached body, which costs no GitHub rate limit;
- pagination by ``Link: <…>; rel="next"`` (GitHub) and by a ``next`` field in the body (Kong's
  ``{"data": [...], "next": "/services?offset=…"}``), bounded by ``max_pages``.

Auth headers are given once and never appear in errors or logs: error messages name only the
method, the URL without its query string, and the status.
"""

from __future__ import annotations

import contextlib
import email.utils
import json
import re
import time
from collections.abc import AsyncIterator, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urljoin, urlsplit, urlunsplit

import aiohttp
from multidict import CIMultiDict

from exporter.collectors.base import CollectorError

_LINK_NEXT = re.compile(r'<([^>]+)>\s*;\s*rel="?next"?')


@dataclass(frozen=True, slots=True)
class ApiResponse:
    """A decoded JSON answer; ``not_modified`` is true when it came from the ETag cache."""

    url: str
    status: int
    data: Any
    headers: Mapping[str, str]
    not_modified: bool = False


@dataclass(slots=True)
class RateLimit:
    """The platform's last reported budget; None where it reports none."""

    remaining: float | None = None
    limit: float | None = None
    reset_at: float | None = None  # Unix time


@dataclass(slots=True)
class RequestStats:
    """Counts since start, exported by collectors as self-metrics."""

    requests: int = 0
    not_modified: int = 0
    by_status: dict[int, int] = field(default_factory=dict)


def redact(url: str) -> str:
    """The URL without user info or query string: safe for errors and logs."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    netloc = f"{host}:{parts.port}" if parts.port else host
    return urlunsplit((parts.scheme, netloc, parts.path, "", ""))


def parse_retry_after(value: str | None, *, now: float) -> float | None:
    """Seconds to wait from a ``Retry-After`` header: delta-seconds or an HTTP date."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - now)


def next_link(header: str | None) -> str | None:
    """The ``rel="next"`` target of an RFC 8288 ``Link`` header."""
    if not header:
        return None
    for part in header.split(","):
        match = _LINK_NEXT.search(part)
        if match:
            return match.group(1)
    return None


class ApiClient:
    """A JSON API client bound to one base URL and one set of auth headers."""

    def __init__(
        self,
        *,
        base_url: str,
        headers: Mapping[str, str] | None = None,
        timeout: float = 10.0,
        verify_tls: bool = True,
        max_pages: int = 1000,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.base_url = base_url if base_url.endswith("/") else base_url + "/"
        self._headers = {"Accept": "application/json", "User-Agent": "secmon-exporter"}
        self._headers.update(headers or {})
        self._timeout = timeout
        self._verify_tls = verify_tls
        self._max_pages = max_pages
        self._clock = clock
        self._session: aiohttp.ClientSession | None = None
        self._etags: dict[str, tuple[str, Any]] = {}
        self.rate_limit = RateLimit()
        self.stats = RequestStats()

    def _client(self) -> aiohttp.ClientSession:
        # Created lazily: a session must be born inside the running event loop.
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession(
                headers=self._headers,
                timeout=aiohttp.ClientTimeout(total=self._timeout),
                connector=aiohttp.TCPConnector(ssl=self._verify_tls),
            )
        return self._session

    def url(self, path: str) -> str:
        """Absolute URL for ``path`` (relative to the base URL) or an absolute ``path``."""
        return urljoin(self.base_url, path.lstrip("/")) if "://" not in path else path

    async def get(
        self, path: str, *, params: Mapping[str, str] | None = None, conditional: bool = False
    ) -> ApiResponse:
        """GET ``path`` and decode JSON; raise :class:`CollectorError` on any failure."""
        url = self.url(path)
        cache_key = url + (
            "?" + "&".join(f"{k}={v}" for k, v in sorted(params.items())) if params else ""
        )
        headers: dict[str, str] = {}
        cached = self._etags.get(cache_key) if conditional else None
        if cached is not None:
            headers["If-None-Match"] = cached[0]
        where = f"GET {redact(url)}"
        try:
            async with self._client().get(
                url, params=params, headers=headers, allow_redirects=False
            ) as response:
                self._observe(response.status, response.headers)
                if response.status == 304 and cached is not None:
                    self.stats.not_modified += 1
                    return ApiResponse(url, 304, cached[1], CIMultiDict(response.headers), True)
                if not 200 <= response.status < 300:
                    raise self._http_error(where, response.status, response.headers)
                body = await response.read()
                reply_headers = CIMultiDict(response.headers)
        except TimeoutError:
            raise CollectorError(
                f"{where} timed out after {self._timeout:g}s", reason="timeout"
            ) from None
        except aiohttp.ClientError as exc:
            # aiohttp's messages name host and port, never request headers.
            raise CollectorError(
                f"{where} failed: {type(exc).__name__}", reason="connection"
            ) from None
        try:
            data = json.loads(body) if body else None
        except ValueError:
            raise CollectorError(f"{where} answered invalid JSON", reason="malformed") from None
        etag = reply_headers.get("ETag")
        if conditional and etag:
            self._etags[cache_key] = (etag, data)
        return ApiResponse(url, 200, data, reply_headers)

    async def paginate_links(
        self, path: str, *, params: Mapping[str, str] | None = None, conditional: bool = False
    ) -> AsyncIterator[ApiResponse]:
        """Follow ``Link: rel="next"`` (GitHub style); yields each page's response."""
        url: str | None = path
        page_params = params
        for _ in range(self._max_pages):
            if url is None:
                return
            response = await self.get(url, params=page_params, conditional=conditional)
            yield response
            url, page_params = next_link(response.headers.get("Link")), None
        raise CollectorError(
            f"GET {redact(self.url(path))}: more than {self._max_pages} pages", reason="pagination"
        )

    async def paginate_offset(
        self, path: str, *, items_key: str = "data", next_key: str = "next"
    ) -> AsyncIterator[Any]:
        """Follow a ``next`` field in the body (Kong style); yields every item of every page."""
        url: str | None = path
        for _ in range(self._max_pages):
            if not url:
                return
            response = await self.get(url)
            if not isinstance(response.data, Mapping) or not isinstance(
                response.data.get(items_key), list
            ):
                raise CollectorError(
                    f"GET {redact(response.url)}: page lacks a {items_key!r} list",
                    reason="malformed",
                )
            for item in response.data[items_key]:
                yield item
            following = response.data.get(next_key)
            url = following if isinstance(following, str) and following else None
        raise CollectorError(
            f"GET {redact(self.url(path))}: more than {self._max_pages} pages", reason="pagination"
        )

    def _observe(self, status: int, headers: Mapping[str, str]) -> None:
        self.stats.requests += 1
        self.stats.by_status[status] = self.stats.by_status.get(status, 0) + 1
        for name, attribute in (
            ("X-RateLimit-Remaining", "remaining"),
            ("X-RateLimit-Limit", "limit"),
            ("X-RateLimit-Reset", "reset_at"),
        ):
            value = headers.get(name)
            if value is not None:
                with contextlib.suppress(ValueError):
                    setattr(self.rate_limit, attribute, float(value))

    def _http_error(self, where: str, status: int, headers: Mapping[str, str]) -> CollectorError:
        now = self._clock()
        retry_after = parse_retry_after(headers.get("Retry-After"), now=now)
        exhausted = headers.get("X-RateLimit-Remaining") == "0"
        if retry_after is None and exhausted and self.rate_limit.reset_at is not None:
            retry_after = max(0.0, self.rate_limit.reset_at - now)
        return CollectorError(
            f"{where} answered HTTP {status}", reason=f"http_{status}", retry_after=retry_after
        )

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None
