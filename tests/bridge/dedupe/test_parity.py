"""Both index backends decide alike on a random stream: same primaries, same scores.

Both skip the title comparison for primaries that could not pass the threshold or beat the best
score so far, and search the event-type bucket only when it could hold this alert's primary;
the decisions (and each reason line) must agree exactly.
"""

from __future__ import annotations

import random
from datetime import timedelta

import pytest

from bridge.dedupe import DedupeConfig, InMemoryDedupeIndex, RedisDedupeIndex
from tests.bridge.dedupe.conftest import T0, cand

ASSETS = ["kong-edge", "kong-internal", "gh-org", "aws-prod", None]
RULES = ["kong_http_admin_api", "github_secret_leak", "aws_root_login", None]
SEVERITIES = ["critical", "high", "medium", "low"]
SOURCES = ["kong", "github", "aws"]
WORDS = ["admin", "api", "exposed", "secret", "leak", "root", "login", "http", "token", "key"]


@pytest.mark.parametrize(
    "settings",
    [
        # A primary sharing only the event type can pass: both buckets are always searched.
        {"threshold": 0.7, "max_candidates": 8},
        # The seed's threshold: it cannot, so the event-type bucket is searched only for an
        # alert without an asset or when the asset's bucket is full.
        {"threshold": 0.8, "max_candidates": 4},
    ],
)
async def test_memory_and_redis_agree_on_a_random_stream(
    redis_url: str, settings: dict[str, float]
) -> None:
    rng = random.Random(20261202)
    cfg = DedupeConfig.model_validate(settings)
    memory, redis = InMemoryDedupeIndex(), RedisDedupeIndex(redis_url)
    kinds: set[str] = set()
    try:
        for alert_id in range(1, 401):
            candidate = cand(
                alert_id,
                fingerprint=f"fp{rng.randrange(300)}",
                asset_id=rng.choice(ASSETS),
                event_type=rng.choice(RULES),
                severity=rng.choice(SEVERITIES),
                source=rng.choice(SOURCES),
                title=" ".join(rng.sample(WORDS, rng.randrange(1, 5))),
                seen_at=T0 + timedelta(seconds=alert_id * 5),
            )
            mine = await memory.match_or_add(candidate, cfg)
            theirs = (await redis.match_many([candidate], cfg))[0]
            assert mine == theirs, (alert_id, mine, theirs)
            kinds.add("exact" if mine.exact else "similar" if mine.duplicate else "primary")
    finally:
        await memory.close()
        await redis.close()
    assert kinds == {"exact", "similar", "primary"}  # the stream exercised every path
