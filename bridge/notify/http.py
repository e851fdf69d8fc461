"""The one HTTP answer classifier every HTTP notifier uses, and a request helper around it.

Alertmanager's rule, which the bridge itself honours as a receiver: 2xx is done, 5xx is worth
retrying, any other 4xx will never succeed. 429 is the exception that asks to be retried later,
after ``Retry-After`` (seconds, or an HTTP date). 408 (request timeout) is retried like a timeout.
Connection errors and timeouts are retryable: the next attempt may reach a healthy instance.
"""

from __future__ import annotations

import email.utils
import json
import time
from collections.abc import Callable, Mapping
from typing import Any

import aiohttp

from bridge.frozen import frozen
from bridge.notify.base import SendResult

RETRYABLE_4XX = frozenset({408, 429})


def parse_retry_after(value: str | None, *, now: float | None = None) -> float | None:
    """Seconds to wait from a ``Retry-After`` header (delta-seconds or HTTP-date), or None."""
    if not value:
        return None
    value = value.strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    current = time.time() if now is None else now
    return max(0.0, when.timestamp() - current)


def classify_status(status: int, *, retry_after: str | None = None, what: str = "") -> SendResult:
    """Map an HTTP status to ok/retryable/permanent (ok carries no ref: the caller adds it)."""
    detail = f": {what}" if what else ""
    if 200 <= status < 300:
        return SendResult.ok(ref=None, status=status)
    if status in RETRYABLE_4XX or status >= 500:
        return SendResult.retryable(
            status=status,
            retry_after=parse_retry_after(retry_after),
            error=f"HTTP {status}{detail}",
        )
    return SendResult.permanent(status=status, error=f"HTTP {status}{detail}")


@frozen
class HttpAnswer:
    status: int
    headers: Mapping[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body or b"null")


async def request(
    session: aiohttp.ClientSession,
    method: str,
    url: str,
    *,
    timeout_seconds: float,
    describe_error: Callable[[HttpAnswer], str] = lambda _answer: "",
    **kwargs: Any,
) -> tuple[SendResult, HttpAnswer | None]:
    """Do one request; return its classification and the answer (None when none came).

    Error text names the exception type only: aiohttp messages can embed the URL, and some
    URLs (Slack incoming webhooks, Twilio paths) carry credentials or account ids.
    """
    try:
        async with session.request(
            method, url, timeout=aiohttp.ClientTimeout(total=timeout_seconds), **kwargs
        ) as response:
            answer = HttpAnswer(response.status, dict(response.headers), await response.read())
    except TimeoutError:
        return SendResult.retryable(error="timeout"), None
    except aiohttp.ClientError as exc:
        return SendResult.retryable(error=f"connection error ({type(exc).__name__})"), None
    result = classify_status(
        answer.status, retry_after=answer.headers.get("Retry-After"), what=describe_error(answer)
    )
    return result, answer
