"""The poll runtime driving a real Kong collector against the fake: self-metrics, staleness,
detection hand-off, backoff, and that no failure ever leaks the token or stops polling."""

from __future__ import annotations

import logging
import random
from collections.abc import AsyncIterator, Sequence
from typing import Any

import pytest
from prometheus_client import CollectorRegistry

from exporter.collectors.kong import KongCollector
from exporter.events import Event
from exporter.runtime import Runtime, Scheduled
from tests.exporter.conftest import TOKEN, FakeKongServer, kong_config
from tests.harness.wait import wait_until

LABELS = {"collector": "edge", "type": "kong"}


class RecordingDetection:
    """Stands in for DetectionState: remembers what each successful poll handed over."""

    def __init__(self) -> None:
        self.updates: list[tuple[str, list[Event]]] = []

    def update(self, collector_name: str, events: Sequence[Event]) -> None:
        self.updates.append((collector_name, list(events)))


@pytest.fixture
async def setup(
    fake_kong: FakeKongServer,
) -> AsyncIterator[tuple[Runtime, CollectorRegistry, RecordingDetection]]:
    await fake_kong.control("PUT", "config", {"token": TOKEN})
    config = kong_config(fake_kong.url, token=TOKEN, timeout=0.5, interval=0.2)
    registry = CollectorRegistry()
    detection = RecordingDetection()
    runtime = Runtime(
        [Scheduled(KongCollector(config), "kong", timeout=2.0)],
        registry=registry,
        detection=detection,
        rng=random.Random(1),
    )
    yield runtime, registry, detection
    await runtime.stop()


def sample(registry: CollectorRegistry, name: str, **extra: str) -> float | None:
    return registry.get_sample_value(name, {**LABELS, **extra})


async def test_self_metrics_exist_before_the_first_poll(setup: Any) -> None:
    runtime, registry, _ = setup
    assert not runtime.ready
    assert sample(registry, "secmon_collector_up") == 0
    assert sample(registry, "secmon_collector_stale") == 0
    assert sample(registry, "secmon_collector_last_success_timestamp_seconds") == 0
    assert sample(registry, "secmon_collector_errors_total", reason="timeout") == 0


async def test_success_publishes_snapshot_and_feeds_detection(setup: Any) -> None:
    runtime, registry, detection = setup
    assert await runtime.poll_once(runtime.states[0])
    assert runtime.ready
    assert sample(registry, "secmon_collector_up") == 1
    assert (sample(registry, "secmon_collector_last_success_timestamp_seconds") or 0) > 1e9
    assert (sample(registry, "secmon_collector_duration_seconds") or 0) > 0
    node = {"collector": "edge", "hostname": "kong-fake", "version": "3.6.1"}
    node["node_id"] = "7b1c8e1e-4c3f-4a52-9d5e-2f8a1b6c0d11"
    assert registry.get_sample_value("secmon_kong_node_info", node) == 1
    [(name, events)] = detection.updates
    assert name == "edge"
    assert any(e.data["endpoint"] == "admin_listen 0.0.0.0:8001" for e in events)


@pytest.mark.parametrize(
    ("failure", "reason"),
    [
        ({"status": 500}, "http_500"),
        ({"status": 401}, "http_401"),
        ({"mode": "slow", "delay": 1.5}, "timeout"),
        ({"mode": "malformed"}, "malformed"),
        ({"mode": "drop_field", "field": "configuration"}, "malformed"),
    ],
)
async def test_failure_keeps_last_good_snapshot_stale(
    setup: Any,
    fake_kong: FakeKongServer,
    caplog: pytest.LogCaptureFixture,
    failure: dict[str, Any],
    reason: str,
) -> None:
    caplog.set_level(logging.DEBUG)
    runtime, registry, detection = setup
    state = runtime.states[0]
    assert await runtime.poll_once(state)
    good = state.snapshot
    await fake_kong.fail(**failure)
    assert not await runtime.poll_once(state)

    assert state.snapshot is good
    assert sample(registry, "secmon_collector_up") == 0
    assert sample(registry, "secmon_collector_stale") == 1
    assert sample(registry, "secmon_collector_errors_total", reason=reason) == 1
    assert (
        registry.get_sample_value(
            "secmon_kong_listeners",
            {
                "collector": "edge",
                "listener": "admin_listen",
                "protocol": "http",
                "exposure": "network",
            },
        )
        == 1
    ), "the stale snapshot is still served"
    assert len(detection.updates) == 1, "a failed poll never reaches detection"
    assert any(reason in r.getMessage() for r in caplog.records)
    assert all(TOKEN not in r.getMessage() for r in caplog.records)

    assert await runtime.poll_once(state)  # recovers on the next good answer
    assert sample(registry, "secmon_collector_up") == 1
    assert sample(registry, "secmon_collector_stale") == 0
    assert len(detection.updates) == 2


async def test_failure_before_any_success_is_down_not_stale(
    setup: Any, fake_kong: FakeKongServer
) -> None:
    runtime, registry, detection = setup
    await fake_kong.fail(status=502)
    assert not await runtime.poll_once(runtime.states[0])
    assert runtime.ready, "an attempt, even a failed one, counts for readiness"
    assert sample(registry, "secmon_collector_up") == 0
    assert sample(registry, "secmon_collector_stale") == 0
    assert runtime.states[0].snapshot is None
    assert detection.updates == []


async def test_polling_tasks_survive_failures_and_keep_polling(
    setup: Any, fake_kong: FakeKongServer
) -> None:
    runtime, registry, _ = setup
    await fake_kong.fail(status=500, count=2)
    await runtime.start()

    async def recovered() -> bool:
        errors = sample(registry, "secmon_collector_errors_total", reason="http_500")
        return errors == 2 and sample(registry, "secmon_collector_up") == 1

    await wait_until(recovered, timeout=10, interval=0.05, what="two failures then recovery")
    polls_before = len(fake_kong.fake.requests)
    await wait_until(
        _async(lambda: len(fake_kong.fake.requests) >= polls_before + 2),
        timeout=5,
        what="regular polling after recovery",
    )


def _async(check: Any) -> Any:
    async def probe() -> Any:
        return check()

    return probe


async def test_backoff_grows_is_capped_and_honours_retry_after(setup: Any) -> None:
    runtime, _, _ = setup
    state = runtime.states[0]  # interval 0.2, default cap 4x
    assert runtime.next_delay(state) == 0.2
    delays = []
    for failures in range(1, 8):
        state.consecutive_failures = failures
        delays.append(runtime.next_delay(state))
    assert all(0.1 <= d <= 0.8 for d in delays)
    assert delays[-1] >= 0.4, "late retries sit in the upper half of the capped window"
    state.retry_after = 30.0
    assert runtime.next_delay(state) == 30.0


class LatestRandom(random.Random):
    """Always draws the top of the range: the longest start delay the runtime allows."""

    def uniform(self, a: float, b: float) -> float:
        return b


async def test_start_jitter_is_capped_so_long_intervals_do_not_delay_readiness(
    fake_kong: FakeKongServer,
) -> None:
    config = kong_config(fake_kong.url, timeout=0.5, interval=3600)
    runtime = Runtime(
        [Scheduled(KongCollector(config), "kong", timeout=2.0)],
        registry=CollectorRegistry(),
        rng=LatestRandom(),
        max_start_jitter=0.3,
    )
    await runtime.start()
    try:

        async def ready() -> bool:
            return runtime.ready

        # 10% of a one-hour interval would be six minutes; the cap makes it 0.3 s.
        await wait_until(ready, timeout=3, what="the first poll of a one-hour collector")
    finally:
        await runtime.stop()
