"""Both index backends decide alike on a random stream: same primaries, same scores.

The in-process index skips candidates that cannot beat the best score found so far, while the
Lua script scores every candidate; the decisions (and each reason line) must still agree.
"""

from __future__ import annotations

import random
from datetime import timedelta

from bridge.dedupe import DedupeConfig, InMemoryDedupeIndex, RedisDedupeIndex
from tests.bridge.dedupe.conftest import T0, cand

ASSETS = ["kong-edge", "kong-internal", "gh-org", "aws-prod", None]
RULES = ["kong_http_admin_api", "github_secret_leak", "aws_root_login", None]
SEVERITIES = ["critical", "high", "medium", "low"]
SOURCES = ["kong", "github", "aws"]
WORDS = ["admin", "api", "exposed", "secret", "leak", "root", "login", "http", "token", "key"]


async def test_memory_and_redis_agree_on_a_random_stream(redis_url: str) -> None:
    rng = random.Random(20261202)
    cfg = DedupeConfig.model_validate({"threshold": 0.7, "max_candidates": 8})
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
