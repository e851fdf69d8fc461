"""The one delivery policy every channel goes through: attempts, backoff, log, dead letters.

Per attempt, the notifier's :class:`~bridge.notify.base.SendResult` decides:

- ok: done;
- retryable with ``retry_after`` (429): wait that long, if it fits the remaining time budget;
- retryable (5xx, timeout, connection error): jittered exponential backoff, bounded by
  ``max_attempts`` and ``max_total_seconds`` (about one Alertmanager group_interval);
- permanent (other 4xx, ``channel_not_found``, …): no retry.

A delivery that does not succeed becomes a dead letter holding the exact payload, which
:func:`replay` sends again once the channel is fixed. Every attempt is written to the
:class:`DeliveryLog`. Sleep, clock and randomness are injected so tests never wait for real.

Metrics (on the registry passed in)::

    secmon_bridge_notifications_total{channel="slack_critical",outcome="sent"} 12.0
    secmon_bridge_notifications_total{channel="slack_critical",outcome="dead_letter"} 1.0
    secmon_bridge_notifications_total{channel="email_ciso",outcome="not_configured"} 2.0
    secmon_bridge_notification_attempts_total{channel="slack_critical",result="retryable"} 3.0
    secmon_bridge_notification_duration_seconds_bucket{channel="slack_critical",le="0.25"} 9.0
"""

from __future__ import annotations

import asyncio
import builtins
import random
import time
import uuid
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Protocol

from prometheus_client import CollectorRegistry, Counter, Histogram

from bridge.frozen import frozen
from bridge.notify.base import Notification, Notifier, Outcome, Payload, SendResult

DELIVERY_OUTCOMES = ("sent", "dead_letter")
# Vendor APIs answer in tens of milliseconds to seconds; timeouts are at 10 s by default.
DURATION_BUCKETS = (0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)

Sleep = Callable[[float], Awaitable[None]]
Clock = Callable[[], float]


@frozen
class RetryPolicy:
    """Bounds of one delivery. Defaults retry for up to 5 minutes, like Alertmanager would."""

    max_attempts: int = 6
    initial_backoff_seconds: float = 1.0
    max_backoff_seconds: float = 60.0
    max_total_seconds: float = 300.0
    attempt_timeout_seconds: float = 15.0

    def backoff(self, retry_number: int, rand: Callable[[], float]) -> float:
        """Delay before retry ``retry_number`` (1-based): "equal jitter" exponential backoff.

        Half the exponential step is kept so the delay never collapses to zero, the other half
        is random so replicas that failed together do not retry together.
        """
        step = min(
            self.max_backoff_seconds,
            self.initial_backoff_seconds * 2.0 ** (retry_number - 1),
        )
        return step / 2 + rand() * step / 2


# -- delivery log ------------------------------------------------------------------------------


@frozen
class DeliveryAttempt:
    channel: str
    alert_id: str
    attempt: int
    outcome: Outcome
    status: int | None
    latency_seconds: float
    error: str
    at: float  # wall-clock time the attempt started (epoch seconds)
    operation: str = ""


class DeliveryLog(Protocol):
    """Every attempt, kept for the alert's history (the store implements it as a table)."""

    async def record(self, attempt: DeliveryAttempt) -> None: ...

    async def attempts(
        self, *, alert_id: str | None = None, channel: str | None = None
    ) -> list[DeliveryAttempt]: ...


class InMemoryDeliveryLog:
    """A bounded list; the single-process default and what tests read back."""

    def __init__(self, *, limit: int = 10_000) -> None:
        self._items: list[DeliveryAttempt] = []
        self._limit = limit

    async def record(self, attempt: DeliveryAttempt) -> None:
        self._items.append(attempt)
        if len(self._items) > self._limit:
            del self._items[: len(self._items) - self._limit]

    async def attempts(
        self, *, alert_id: str | None = None, channel: str | None = None
    ) -> list[DeliveryAttempt]:
        return [
            a
            for a in self._items
            if (alert_id is None or a.alert_id == alert_id)
            and (channel is None or a.channel == channel)
        ]


# -- dead letters ------------------------------------------------------------------------------


@frozen
class DeadLetter:
    id: str
    payload: Payload
    reason: str
    status: int | None
    attempts: int
    created_at: float

    @property
    def channel(self) -> str:
        return self.payload.channel


class DeadLetters(Protocol):
    """Deliveries that failed for good, kept with their payload until replayed."""

    async def add(self, letter: DeadLetter) -> None: ...

    async def list(
        self, *, channel: str | None = None, limit: int = 100
    ) -> builtins.list[DeadLetter]: ...

    async def take(
        self, *, ids: Sequence[str] | None = None, channel: str | None = None
    ) -> builtins.list[DeadLetter]:
        """Remove and return the matching letters; two replicas never take the same one."""
        ...


class InMemoryDeadLetters:
    def __init__(self) -> None:
        self._letters: dict[str, DeadLetter] = {}

    async def add(self, letter: DeadLetter) -> None:
        self._letters[letter.id] = letter

    async def list(
        self, *, channel: str | None = None, limit: int = 100
    ) -> builtins.list[DeadLetter]:
        found = [x for x in self._letters.values() if channel is None or x.channel == channel]
        return found[:limit]

    async def take(
        self, *, ids: Sequence[str] | None = None, channel: str | None = None
    ) -> builtins.list[DeadLetter]:
        taken: builtins.list[DeadLetter] = [
            x
            for x in self._letters.values()
            if (ids is None or x.id in ids) and (channel is None or x.channel == channel)
        ]
        for letter in taken:
            del self._letters[letter.id]
        return taken


# -- metrics -----------------------------------------------------------------------------------


class NotificationMetrics:
    """The delivery metrics, created on the caller's registry (never the global one)."""

    def __init__(self, *, registry: CollectorRegistry, channels: Sequence[str] = ()) -> None:
        self.notifications = Counter(
            "secmon_bridge_notifications",
            "Notifications by final outcome: sent, dead_letter after a permanent error or "
            "exhausted retries, or not_configured when an alert names a channel this bridge "
            "does not have.",
            ["channel", "outcome"],
            registry=registry,
        )
        self.attempts = Counter(
            "secmon_bridge_notification_attempts",
            "Send attempts by result (ok, retryable, permanent).",
            ["channel", "result"],
            registry=registry,
        )
        self.duration = Histogram(
            "secmon_bridge_notification_duration_seconds",
            "Duration of one send attempt to the channel's API.",
            ["channel"],
            buckets=DURATION_BUCKETS,
            registry=registry,
        )
        for channel in channels:
            for outcome in DELIVERY_OUTCOMES:
                self.notifications.labels(channel=channel, outcome=outcome)
            self.duration.labels(channel=channel)

    def not_configured(self, channel: str) -> None:
        """An alert named ``channel``, which this bridge has no configuration for."""
        self.notifications.labels(channel=channel, outcome="not_configured").inc()


# -- the policy ---------------------------------------------------------------------------------


@dataclass(slots=True)
class Deliverer:
    """Delivers payloads to named notifiers under one :class:`RetryPolicy`."""

    notifiers: Mapping[str, Notifier]
    log: DeliveryLog
    dead_letters: DeadLetters
    metrics: NotificationMetrics
    policy: RetryPolicy = field(default_factory=RetryPolicy)
    sleep: Sleep = asyncio.sleep
    clock: Clock = time.monotonic
    wall_clock: Clock = time.time
    rand: Callable[[], float] = random.random

    async def deliver(self, *, channel: str, notification: Notification) -> SendResult:
        """Build the channel's payload for ``notification`` and deliver it."""
        payload = self.notifiers[channel].build_payload(notification)
        return await self.deliver_payload(payload=payload)

    async def deliver_payload(self, *, payload: Payload) -> SendResult:
        """Attempt until ok, permanent, or out of attempts/time; dead-letter on failure."""
        notifier = self.notifiers[payload.channel]
        started = self.clock()
        attempt = 0
        while True:
            attempt += 1
            result = await self._attempt(notifier, payload, attempt)
            if result.outcome is Outcome.OK:
                self.metrics.notifications.labels(channel=payload.channel, outcome="sent").inc()
                return result
            delay = self._retry_delay(result, attempt, elapsed=self.clock() - started)
            if delay is None:
                await self._dead_letter(payload, result, attempt)
                return result
            await self.sleep(delay)

    def _retry_delay(self, result: SendResult, attempt: int, *, elapsed: float) -> float | None:
        """Seconds to wait before the next attempt, or None to give up."""
        if result.outcome is Outcome.PERMANENT or attempt >= self.policy.max_attempts:
            return None
        if result.retry_after is not None:
            delay = result.retry_after
        else:
            delay = self.policy.backoff(attempt, self.rand)
        if elapsed + delay > self.policy.max_total_seconds:
            # Waiting would overrun the budget: better a dead letter now than a page much later.
            return None
        return delay

    async def _attempt(self, notifier: Notifier, payload: Payload, attempt: int) -> SendResult:
        at = self.wall_clock()
        t0 = self.clock()
        try:
            async with asyncio.timeout(self.policy.attempt_timeout_seconds):
                result = await notifier.send(payload=payload)
        except TimeoutError:
            result = SendResult.retryable(error="timeout")
        except Exception as exc:  # noqa: BLE001 - a notifier bug must not kill the pipeline
            # The type only: exception text can carry URLs, headers or credentials.
            result = SendResult.retryable(error=f"unexpected {type(exc).__name__}")
        latency = max(0.0, self.clock() - t0)
        self.metrics.duration.labels(channel=payload.channel).observe(latency)
        self.metrics.attempts.labels(channel=payload.channel, result=result.outcome.value).inc()
        await self.log.record(
            DeliveryAttempt(
                channel=payload.channel,
                alert_id=payload.alert_id,
                attempt=attempt,
                outcome=result.outcome,
                status=result.status,
                latency_seconds=latency,
                error=result.error,
                at=at,
                operation=payload.operation,
            )
        )
        return result

    async def _dead_letter(self, payload: Payload, result: SendResult, attempts: int) -> None:
        self.metrics.notifications.labels(channel=payload.channel, outcome="dead_letter").inc()
        reason = (
            result.error
            if result.outcome is Outcome.PERMANENT
            else (f"gave up after {attempts} attempts: {result.error}")
        )
        await self.dead_letters.add(
            DeadLetter(
                id=uuid.uuid4().hex,
                payload=payload,
                reason=reason,
                status=result.status,
                attempts=attempts,
                created_at=self.wall_clock(),
            )
        )


@frozen
class ReplayResult:
    letter: DeadLetter
    result: SendResult


async def replay(
    *,
    deliverer: Deliverer,
    ids: Sequence[str] | None = None,
    channel: str | None = None,
) -> list[ReplayResult]:
    """Take dead letters and deliver them again; a failure becomes a new dead letter."""
    results: list[ReplayResult] = []
    for letter in await deliverer.dead_letters.take(ids=ids, channel=channel):
        if letter.channel not in deliverer.notifiers:
            # The channel was removed from config: keep the letter rather than lose it.
            await deliverer.dead_letters.add(replace(letter, reason="channel no longer configured"))
            results.append(
                ReplayResult(letter, SendResult.permanent(error="channel no longer configured"))
            )
            continue
        result = await deliverer.deliver_payload(payload=letter.payload)
        results.append(ReplayResult(letter, result))
    return results
