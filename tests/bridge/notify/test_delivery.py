"""The shared delivery policy: retry classification, Retry-After, backoff, dead letters, replay."""

from __future__ import annotations

from collections.abc import Sequence

import aiohttp
from prometheus_client import CollectorRegistry

from bridge.fakes.webhook import FakeWebhookSink
from bridge.notify.base import MessageRef, Notification, Outcome, Payload, SendResult
from bridge.notify.delivery import (
    Deliverer,
    InMemoryDeadLetters,
    InMemoryDeliveryLog,
    NotificationMetrics,
    RetryPolicy,
    replay,
)
from bridge.notify.http import classify_status, parse_retry_after
from bridge.notify.webhook import WebhookConfig, WebhookNotifier
from tests.bridge.notify.conftest import Serve
from tests.bridge.notify.helpers import FakeTime, sample_notification


class ScriptedNotifier:
    """Answers with the scripted results in order, then ok."""

    def __init__(self, results: Sequence[SendResult]) -> None:
        self.name = "scripted"
        self.results = list(results)
        self.sent: list[Payload] = []

    def build_payload(self, notification: Notification) -> Payload:
        return Payload(self.name, notification.alert_id, "post", {"title": notification.title})

    async def send(self, *, payload: Payload) -> SendResult:
        self.sent.append(payload)
        if self.results:
            return self.results.pop(0)
        return SendResult.ok(ref=MessageRef(self.name, "m1"))


def make_deliverer(
    notifier: object, fake_time: FakeTime, policy: RetryPolicy | None = None
) -> tuple[Deliverer, CollectorRegistry]:
    registry = CollectorRegistry()
    name = getattr(notifier, "name")  # noqa: B009 - the notifiers here are duck-typed
    deliverer = Deliverer(
        notifiers={name: notifier},  # type: ignore[dict-item]
        log=InMemoryDeliveryLog(),
        dead_letters=InMemoryDeadLetters(),
        metrics=NotificationMetrics(registry=registry, channels=[name]),
        policy=policy or RetryPolicy(),
        sleep=fake_time.sleep,
        clock=fake_time.clock,
        rand=lambda: 0.5,
    )
    return deliverer, registry


def test_classify_status() -> None:
    assert classify_status(202).outcome is Outcome.OK
    assert classify_status(500).outcome is Outcome.RETRYABLE
    assert classify_status(503).outcome is Outcome.RETRYABLE
    assert classify_status(408).outcome is Outcome.RETRYABLE
    limited = classify_status(429, retry_after="7")
    assert (limited.outcome, limited.retry_after) == (Outcome.RETRYABLE, 7.0)
    assert classify_status(400).outcome is Outcome.PERMANENT
    assert classify_status(404).outcome is Outcome.PERMANENT


def test_parse_retry_after_accepts_seconds_and_http_dates() -> None:
    assert parse_retry_after("30") == 30.0
    assert parse_retry_after("Wed, 21 Oct 2015 07:28:30 GMT", now=1445412500.0) == 10.0
    assert parse_retry_after("soon") is None
    assert parse_retry_after(None) is None


def test_backoff_is_exponential_jittered_and_capped() -> None:
    policy = RetryPolicy(initial_backoff_seconds=1, max_backoff_seconds=8)
    assert [policy.backoff(n, lambda: 0.0) for n in (1, 2, 3, 4, 5)] == [0.5, 1, 2, 4, 4]
    assert [policy.backoff(n, lambda: 1.0) for n in (1, 2, 3, 4, 5)] == [1, 2, 4, 8, 8]


async def test_retry_after_is_waited_then_success(fake_time: FakeTime) -> None:
    notifier = ScriptedNotifier([SendResult.retryable(status=429, retry_after=12, error="429")])
    deliverer, registry = make_deliverer(notifier, fake_time)

    result = await deliverer.deliver(channel="scripted", notification=sample_notification())

    assert result.outcome is Outcome.OK
    assert fake_time.sleeps == [12]
    attempts = await deliverer.log.attempts(alert_id="a-42")
    assert [(a.attempt, a.outcome, a.status) for a in attempts] == [
        (1, Outcome.RETRYABLE, 429),
        (2, Outcome.OK, None),
    ]
    sample = registry.get_sample_value
    labels = {"channel": "scripted", "outcome": "sent"}
    assert sample("secmon_bridge_notifications_total", labels) == 1
    assert sample("secmon_bridge_notification_duration_seconds_count", {"channel": "scripted"}) == 2


async def test_5xx_backs_off_until_attempts_run_out_then_dead_letter(fake_time: FakeTime) -> None:
    notifier = ScriptedNotifier([SendResult.retryable(status=503, error="HTTP 503")] * 10)
    deliverer, registry = make_deliverer(notifier, fake_time, RetryPolicy(max_attempts=4))

    result = await deliverer.deliver(channel="scripted", notification=sample_notification())

    assert result.outcome is Outcome.RETRYABLE
    assert fake_time.sleeps == [0.75, 1.5, 3.0]  # rand() = 0.5: three quarters of each step
    [letter] = await deliverer.dead_letters.list()
    assert letter.attempts == 4
    assert "gave up after 4 attempts" in letter.reason
    labels = {"channel": "scripted", "outcome": "dead_letter"}
    assert registry.get_sample_value("secmon_bridge_notifications_total", labels) == 1


async def test_retry_after_beyond_the_time_budget_gives_up(fake_time: FakeTime) -> None:
    notifier = ScriptedNotifier([SendResult.retryable(status=429, retry_after=3600, error="429")])
    deliverer, _ = make_deliverer(notifier, fake_time, RetryPolicy(max_total_seconds=300))

    result = await deliverer.deliver(channel="scripted", notification=sample_notification())

    assert result.outcome is Outcome.RETRYABLE
    assert fake_time.sleeps == []
    assert len(await deliverer.dead_letters.list()) == 1


async def test_permanent_is_not_retried(fake_time: FakeTime) -> None:
    notifier = ScriptedNotifier([SendResult.permanent(status=400, error="HTTP 400")])
    deliverer, _ = make_deliverer(notifier, fake_time)

    result = await deliverer.deliver(channel="scripted", notification=sample_notification())

    assert result.outcome is Outcome.PERMANENT
    assert len(notifier.sent) == 1
    assert fake_time.sleeps == []


async def test_a_notifier_exception_is_contained_and_retried(fake_time: FakeTime) -> None:
    class Exploding(ScriptedNotifier):
        async def send(self, *, payload: Payload) -> SendResult:
            if not self.sent:
                self.sent.append(payload)
                raise RuntimeError("boom with https://user:pw@example/ in it")
            return await super().send(payload=payload)

    deliverer, _ = make_deliverer(Exploding([]), fake_time)
    result = await deliverer.deliver(channel="scripted", notification=sample_notification())

    assert result.outcome is Outcome.OK
    [first, _second] = await deliverer.log.attempts()
    assert first.error == "unexpected RuntimeError"


# -- against a real local server -----------------------------------------------------------------


async def _webhook(
    serve: Serve, session: aiohttp.ClientSession, fake_time: FakeTime
) -> tuple[FakeWebhookSink, Deliverer]:
    sink = FakeWebhookSink(secret="whsec-delivery-test")
    url = await serve(sink)
    config = WebhookConfig(url=f"{url}/hook", secret="whsec-delivery-test", timeout_seconds=0.3)
    notifier = WebhookNotifier(name="webhook_soc", config=config, session=session)
    deliverer, _ = make_deliverer(notifier, fake_time)
    return sink, deliverer


async def test_429_with_retry_after_from_a_server(
    serve: Serve, session: aiohttp.ClientSession, fake_time: FakeTime
) -> None:
    sink, deliverer = await _webhook(serve, session, fake_time)
    sink.fail("/hook", status=429, retry_after=5)

    result = await deliverer.deliver(channel="webhook_soc", notification=sample_notification())

    assert result.outcome is Outcome.OK
    assert fake_time.sleeps == [5]
    assert len(sink.verified) == 1


async def test_5xx_and_timeout_from_a_server_are_retried(
    serve: Serve, session: aiohttp.ClientSession, fake_time: FakeTime
) -> None:
    sink, deliverer = await _webhook(serve, session, fake_time)
    sink.fail("/hook", status=502)
    sink.fail("/hook", status=200, delay=1.0)  # longer than the 0.3 s timeout

    result = await deliverer.deliver(channel="webhook_soc", notification=sample_notification())

    assert result.outcome is Outcome.OK
    errors = [a.error for a in await deliverer.log.attempts()]
    assert errors == ["HTTP 502", "timeout", ""]
    assert len(fake_time.sleeps) == 2


async def test_400_goes_to_dead_letters_and_replays_once_fixed(
    serve: Serve, session: aiohttp.ClientSession, fake_time: FakeTime
) -> None:
    sink, deliverer = await _webhook(serve, session, fake_time)
    sink.fail("/hook", status=400, count=1)

    first = await deliverer.deliver(channel="webhook_soc", notification=sample_notification())
    assert first.outcome is Outcome.PERMANENT
    [letter] = await deliverer.dead_letters.list(channel="webhook_soc")
    assert (letter.status, letter.reason) == (400, "HTTP 400")
    assert Payload.from_json(letter.payload.to_json()) == letter.payload  # storable as is

    [replayed] = await replay(deliverer=deliverer)

    assert replayed.result.outcome is Outcome.OK
    assert await deliverer.dead_letters.list() == []
    assert len(sink.verified) == 1


async def test_replay_keeps_letters_for_removed_channels(fake_time: FakeTime) -> None:
    notifier = ScriptedNotifier([SendResult.permanent(status=404, error="HTTP 404")])
    deliverer, _ = make_deliverer(notifier, fake_time)
    await deliverer.deliver(channel="scripted", notification=sample_notification())
    deliverer.notifiers = {}

    [replayed] = await replay(deliverer=deliverer)

    assert replayed.result.outcome is Outcome.PERMANENT
    [kept] = await deliverer.dead_letters.list()
    assert kept.reason == "channel no longer configured"
