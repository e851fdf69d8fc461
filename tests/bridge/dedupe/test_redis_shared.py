"""Two bridge replicas sharing Redis: concurrent similar alerts agree on one primary; TTLs."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import redis.asyncio as aioredis

from bridge.dedupe import DedupeConfig, RedisDedupeIndex
from tests.bridge.dedupe.conftest import cand


async def test_concurrent_similar_alerts_on_two_clients_get_exactly_one_primary(
    redis_url: str,
) -> None:
    replicas = [RedisDedupeIndex(redis_url), RedisDedupeIndex(redis_url)]
    cfg = DedupeConfig()
    try:
        candidates = [
            cand(i, title=f"Kong Admin API exposed over HTTP on port {8000 + i % 3}")
            for i in range(1, 201)
        ]
        decisions = await asyncio.gather(
            *(replicas[i % 2].match_or_add(c, cfg) for i, c in enumerate(candidates))
        )
    finally:
        for replica in replicas:
            await replica.close()
    primaries = [c.alert_id for c, d in zip(candidates, decisions, strict=True) if not d.duplicate]
    assert len(primaries) == 1
    assert {d.primary_id for d in decisions if d.duplicate} == set(primaries)


async def test_concurrent_identical_fingerprints_take_the_exact_path(redis_url: str) -> None:
    replicas = [RedisDedupeIndex(redis_url), RedisDedupeIndex(redis_url)]
    try:
        decisions = await asyncio.gather(
            *(
                replicas[i % 2].match_or_add(
                    cand(i, fingerprint="same", title=None), DedupeConfig()
                )
                for i in range(1, 51)
            )
        )
    finally:
        for replica in replicas:
            await replica.close()
    assert sum(not d.duplicate for d in decisions) == 1
    assert all(d.exact for d in decisions if d.duplicate)


async def test_state_expires_with_the_window(redis_url: str) -> None:
    cfg = DedupeConfig(window=timedelta(milliseconds=300))
    index = RedisDedupeIndex(redis_url, namespace="t:ttl")
    client = aioredis.Redis.from_url(redis_url, decode_responses=True)
    try:
        await index.match_or_add(cand(1), cfg)
        keys = sorted(await client.keys("t:ttl:*"))
        assert keys == [
            "t:ttl:b:a:kong-edge",
            "t:ttl:b:r:kong_http_admin_api",
            "t:ttl:fp:fp1",
            "t:ttl:p:1",
        ]
        for key in keys:
            assert 0 < await client.pttl(key) <= 300
        await asyncio.sleep(0.5)
        assert await client.keys("t:ttl:*") == []
        # Same alert time: only the expiry can have made it a new primary again.
        assert (await index.match_or_add(cand(2, fingerprint="fp1"), cfg)).primary_id is None
    finally:
        await index.close()
        await client.aclose()


async def test_one_call_per_delivery_decides_as_one_call_per_alert(redis_url: str) -> None:
    """match_many (one script call, primaries cached per call) == match_or_add in turn."""
    one = RedisDedupeIndex(redis_url, namespace="t:one")
    many = RedisDedupeIndex(redis_url, namespace="t:many")
    cfg = DedupeConfig()
    titles = ["Kong Admin API exposed over HTTP", "Kong Admin API exposed", "Disk full on db-1"]
    deliveries = [
        [
            cand(10 * d + i, asset_id=f"asset-{i % 3}", fingerprint=f"fp{(10 * d + i) % 7}",
                 title=titles[(d + i) % 3], severity=("critical", "high")[i % 2])
            for i in range(10)
        ]
        for d in range(6)
    ]  # fmt: skip
    try:
        for delivery in deliveries:
            expected = [await one.match_or_add(c, cfg) for c in delivery]
            assert await many.match_many(delivery, cfg) == expected
            assert await many.match_many(delivery, cfg) == [
                await one.match_or_add(c, cfg) for c in delivery
            ]  # re-sent: every alert is now a primary or a duplicate of the same one
    finally:
        await one.close()
        await many.close()
