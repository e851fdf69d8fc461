"""Every dedupe test runs against both index backends (Redis on the flushed test database)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

import pytest

from bridge.dedupe import DedupeCandidate, DedupeIndex, InMemoryDedupeIndex, RedisDedupeIndex

T0 = datetime(2024, 3, 5, 10, 0, tzinfo=UTC)


@pytest.fixture(params=["memory", "redis"])
async def index(request: pytest.FixtureRequest, redis_url: str) -> AsyncIterator[DedupeIndex]:
    # Both parameters take the (async) redis_url fixture: an async fixture cannot be requested
    # lazily with getfixturevalue from another async fixture.
    built: DedupeIndex = (
        InMemoryDedupeIndex() if request.param == "memory" else RedisDedupeIndex(redis_url)
    )
    yield built
    await built.close()


def cand(alert_id: int, **overrides: Any) -> DedupeCandidate:
    values: dict[str, Any] = {
        "alert_id": alert_id,
        "fingerprint": f"fp{alert_id}",
        "asset_id": "kong-edge",
        "event_type": "kong_http_admin_api",
        "severity": "critical",
        "source": "kong",
        "title": "Kong Admin API exposed over HTTP",
        "seen_at": T0,
    }
    values.update(overrides)
    return DedupeCandidate(**values)
