"""High availability: two bridge replicas sharing PostgreSQL and Redis, every payload twice.

Alertmanager HA pairs both deliver each notification, and every flush re-sends the group, so
the bridge sees the same payload from two senders in any order. Whatever the order, each alert
instance must exist once, each distinct receipt must be processed once (one occurrence row,
one timeline "created"), resolutions must stick, and repeated firings of one fingerprint must
merge into one primary whose occurrence count is the number of instances.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
from collections import Counter
from collections.abc import AsyncIterator
from typing import Any

import pytest
from aiohttp.test_utils import TestClient, TestServer

from bridge.app import create_app
from tests.bridge.helpers import (
    BridgeClient,
    bridge_config,
    drop_bridge_tables,
    get_alerts,
    make_alert,
    make_payload,
    post_payload,
    query,
)

pytestmark = [pytest.mark.postgres, pytest.mark.redis]

FIRST = "2026-11-25T09:00:00Z"
SECOND = "2026-11-25T09:30:00Z"
ALERTS = 30


def alert(i: int, **kwargs: Any) -> dict[str, Any]:
    # Distinct rule, asset and title per alert: nothing is *similar*, only exact repeats merge.
    return make_alert(
        f"fp{i:03d}", rule_id=f"rule_{i}", asset=f"asset-{i}", alertname=f"Rule{i}", **kwargs
    )


def payloads() -> tuple[list[dict[str, Any]], dict[str, int], set[str]]:
    """Payloads, the instance count per fingerprint, and the fingerprints resolved."""
    out: list[dict[str, Any]] = []
    instances: dict[str, int] = {}
    resolved: set[str] = set()
    for i in range(ALERTS):
        fingerprint = f"fp{i:03d}"
        out.append(make_payload(alert(i, starts_at=FIRST)))
        instances[fingerprint] = 1
        if i % 2 == 0:
            ended = "2026-11-25T09:10:00Z"
            out.append(make_payload(alert(i, starts_at=FIRST, status="resolved", ends_at=ended)))
            resolved.add(fingerprint)
        if i % 3 == 0:  # fires again later: a new instance of the same alert
            out.append(make_payload(alert(i, starts_at=SECOND)))
            instances[fingerprint] = 2
    # Group flushes re-send several alerts at once.
    out.append(make_payload(*(alert(i, starts_at=FIRST) for i in range(0, ALERTS, 5))))
    return out, instances, resolved


@contextlib.asynccontextmanager
async def replica(postgres_url: str, redis_url: str) -> AsyncIterator[BridgeClient]:
    config = bridge_config(postgres_url, redis_url=redis_url)
    async with TestClient(TestServer(create_app(config))) as client:
        yield client


async def test_two_replicas_two_senders_random_order(postgres_url: str, redis_url: str) -> None:
    await drop_bridge_tables(postgres_url)
    sent, instances, resolved = payloads()
    rng = random.Random(20261125)  # a fixed shuffle, so a failure can be replayed
    async with (
        replica(postgres_url, redis_url) as one,
        replica(postgres_url, redis_url) as two,
    ):
        deliveries = [(client, p) for p in sent for client in (one, two)]
        rng.shuffle(deliveries)
        gate = asyncio.Semaphore(8)

        async def deliver(client: BridgeClient, payload: dict[str, Any]) -> int:
            async with gate:
                status, _ = await post_payload(client, payload)
                return status

        statuses = await asyncio.gather(*(deliver(c, p) for c, p in deliveries))
        assert set(statuses) == {200}
        alerts = await get_alerts(one, limit="1000")

    per_instance = Counter((a["fingerprint"], a["starts_at"]) for a in alerts)
    assert set(per_instance.values()) == {1}
    by_fingerprint = Counter(a["fingerprint"] for a in alerts)
    assert dict(by_fingerprint) == instances

    for fingerprint, count in instances.items():
        mine = [a for a in alerts if a["fingerprint"] == fingerprint]
        [primary] = [a for a in mine if a["primary_id"] is None]
        assert primary["occurrence_count"] == count, fingerprint
        assert {a["primary_id"] for a in mine if a is not primary} <= {primary["id"]}
        first = next(a for a in mine if a["starts_at"].startswith("2026-11-25T09:00"))
        expected = "resolved" if fingerprint in resolved else "open"
        assert first["status"] == expected, fingerprint

    receipts = await query(postgres_url, "SELECT received_count FROM alert_receipts")
    assert len(receipts) == sum(instances.values()) + len(resolved)
    # Each payload went out twice; the group flush repeats some receipts on top of that.
    assert all(count >= 2 and count % 2 == 0 for (count,) in receipts)
    occurrences = await query(
        postgres_url,
        "SELECT count(*), count(DISTINCT (alert_id, am_status)) FROM alert_occurrences",
    )
    assert occurrences == [(len(receipts), len(receipts))]
    created = await query(
        postgres_url,
        "SELECT count(*), count(DISTINCT alert_id) FROM alert_timeline WHERE kind = 'created'",
    )
    assert created == [(len(alerts), len(alerts))]
