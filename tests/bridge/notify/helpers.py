"""Shared helpers for notifier tests: sample notifications, fake time, the secret-leak check."""

from __future__ import annotations

import traceback
from collections.abc import Iterable

import pytest

from bridge.notify.base import Link, MessageRef, Notification, State
from bridge.notify.delivery import DeadLetters, DeliveryLog


def sample_notification(
    *,
    alert_id: str = "a-42",
    state: State = "firing",
    level: int = 0,
    previous: MessageRef | None = None,
) -> Notification:
    return Notification(
        alert_id=alert_id,
        title="Kong admin API exposed",
        message="The Kong admin API answers on a public address.",
        severity="critical",
        state=state,
        asset="kong-prod",
        rule_id="KONG-001",
        category="exposure",
        remediation="Bind the admin API to 127.0.0.1 or put it behind auth.",
        links=(Link("Runbook", "https://runbooks.example/kong-001"),),
        escalation_level=level,
        recipients=("security_team",),
        previous=previous,
        dedup_key="secmon-fp0123456789",
    )


class FakeTime:
    """An injectable monotonic clock whose ``sleep`` advances it instead of waiting."""

    def __init__(self, start: float = 1000.0) -> None:
        self.now = start
        self.sleeps: list[float] = []

    def clock(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


VENDOR_SIDE_LOGGERS = ("aiohttp.access", "aiohttp.server", "mail.log")


def _exception_texts(exc: BaseException | None) -> list[str]:
    texts: list[str] = []
    while exc is not None:
        texts += [str(exc), repr(exc), "".join(traceback.format_exception_only(exc))]
        exc = exc.__cause__ or exc.__context__
    return texts


def assert_no_secret_leak(
    secret: str,
    caplog: pytest.LogCaptureFixture,
    exc: BaseException | None = None,
    *,
    texts: Iterable[str] = (),
) -> None:
    """Fail if ``secret`` appears in any captured log record, the exception chain, or ``texts``.

    Every notifier's tests call this after an error path (bad credentials, scripted failures),
    with DEBUG logging captured, so libraries' request logging is covered too.
    """
    assert len(secret) >= 4, "a secret this short would match by accident"
    # aiohttp.access is the fakes' server-side access log (the vendor's side), not secmon's.
    records = [r for r in caplog.records if not r.name.startswith(VENDOR_SIDE_LOGGERS)]
    haystacks = [
        *(r.getMessage() for r in records),
        *(str(r.args) for r in records),
        *(r.exc_text or "" for r in records),
        *_exception_texts(exc),
    ]
    haystacks += list(texts)
    for text in haystacks:
        assert secret not in text, f"secret leaked into: {text[:200]!r}"


async def delivery_texts(log: DeliveryLog, dead_letters: DeadLetters) -> list[str]:
    """Everything the delivery machinery wrote down, for :func:`assert_no_secret_leak`."""
    attempts = await log.attempts()
    letters = await dead_letters.list(limit=10_000)
    return [a.error for a in attempts] + [d.reason for d in letters]
