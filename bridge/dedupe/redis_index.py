"""Redis dedupe index: one atomic Lua call per delivery, shared by every bridge replica.

Keys under the namespace (default ``secmon:dedupe``): ``:p:<id>`` a hash per primary,
``:fp:<fingerprint>`` the primary a fingerprint maps to, ``:b:a:<asset>`` and
``:b:r:<event type>`` sorted sets of primary ids scored by last occurrence (ms), trimmed to
``max_candidates``. Every key carries a TTL of one window, refreshed on each match, so idle
state disappears on its own. The script builds primary keys from ids, so it needs a single
Redis (or a Sentinel pair), not Redis Cluster.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import redis.asyncio as aioredis

from bridge.dedupe import decide
from bridge.dedupe.config import DedupeConfig
from bridge.dedupe.lua import FORGET, MATCH_MANY
from bridge.dedupe.model import DedupeCandidate, DedupeDecision
from bridge.dedupe.similarity import Signature


def _text(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


class RedisDedupeIndex:
    """A :class:`~bridge.dedupe.model.DedupeIndex` in Redis; safe across processes."""

    def __init__(self, redis_url: str, *, namespace: str = "secmon:dedupe") -> None:
        self.namespace = namespace
        self._client: aioredis.Redis = aioredis.Redis.from_url(redis_url)
        # Script objects send EVALSHA and load the script only if Redis answers NOSCRIPT.
        self._forget = self._client.register_script(FORGET)
        self._match_many = self._client.register_script(MATCH_MANY)

    async def match_or_add(self, c: DedupeCandidate, cfg: DedupeConfig) -> DedupeDecision:
        return (await self.match_many([c], cfg))[0]

    async def match_many(
        self, candidates: Sequence[DedupeCandidate], cfg: DedupeConfig
    ) -> list[DedupeDecision]:
        """Decide a delivery's candidates in order, atomically, in one script call.

        Same decisions as calling :meth:`match_or_add` for each in turn; the script reads
        each primary it compares once per call rather than once per candidate, and writes
        each key it changes once, at the end of the call.
        """
        if not candidates:
            return []
        w = cfg.weights
        sigs = [Signature.of(c.asset_id, c.event_type, c.severity, c.source, c.title)
                for c in candidates]  # fmt: skip
        args: list[Any] = [
            self.namespace,
            cfg.window_ms,
            cfg.max_candidates,
            repr(cfg.threshold),
            *(repr(x) for x in (w.asset_id, w.event_type, w.severity, w.source, w.title)),
        ]
        for c, sig in zip(candidates, sigs, strict=True):
            args += [c.alert_id, c.fingerprint, sig.asset_id, sig.event_type, sig.severity,
                     sig.source, sig.token_text, int(c.seen_at.timestamp() * 1000)]  # fmt: skip
        replies = await self._match_many(keys=[], args=args)
        return [
            _decision(c, sig, [_text(v) for v in reply], cfg)
            for c, sig, reply in zip(candidates, sigs, replies, strict=True)
        ]

    async def forget(self, alert_id: int) -> None:
        await self._forget(keys=[], args=[self.namespace, alert_id])

    async def close(self) -> None:
        await self._client.aclose()


def _decision(
    c: DedupeCandidate, sig: Signature, reply: list[str], cfg: DedupeConfig
) -> DedupeDecision:
    """The decision a script reply stands for (both scripts reply alike)."""
    kind, pid, asset, event, severity, source, tokens = reply
    if kind == "self":
        return decide.already_primary(c)
    if kind == "exact":
        return decide.exact(c, int(pid), cfg)
    # The script returns the other primary's fields; rebuild its signature to explain.
    other = Signature(asset, event, severity, source, frozenset(tokens.split()))
    if kind == "similar":
        return decide.similar(c, sig, int(pid), other, cfg)
    return decide.new_primary(sig, (int(pid), other) if pid else None, cfg)
