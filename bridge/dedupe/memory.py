"""In-process dedupe index: the single-process default, with the Redis index's semantics.

``match_or_add`` contains no ``await``, so under asyncio it runs to completion before any other
task touches the index: that is its atomicity (no lock needed, none taken).

Layout, mirroring Redis: primaries by id; a fingerprint map for the exact fast path; buckets by
asset and by event type holding the most recently seen primaries (at most ``max_candidates``
each, so the cost per alert stays bounded). Expiry is by the alerts' own clock: entries whose
last occurrence is more than a window behind the newest ``seen_at`` are swept. Memory is bounded
too: at most ``max_primaries`` primaries are held, the least recently seen dropped first (a
later alert of a dropped primary starts a new one), and the fingerprint map at most four times
that.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

from bridge.dedupe import decide
from bridge.dedupe.config import DedupeConfig
from bridge.dedupe.model import DedupeCandidate, DedupeDecision
from bridge.dedupe.similarity import Signature, field_score, jaccard


@dataclass(slots=True)
class _Primary:
    id: int
    fingerprint: str
    sig: Signature
    first_ms: int
    last_ms: int


def _ms(c: DedupeCandidate) -> int:
    return int(c.seen_at.timestamp() * 1000)


class InMemoryDedupeIndex:
    """A :class:`~bridge.dedupe.model.DedupeIndex` held in this process."""

    def __init__(self) -> None:
        # Least recently seen first. An OrderedDict, not a dict: dropping the oldest of a
        # full index takes the first entry, and a dict that keeps losing its first entries
        # makes every next(iter(...)) walk the holes they left (22 µs an alert at 50,000).
        self._primaries: OrderedDict[int, _Primary] = OrderedDict()
        self._fingerprints: dict[str, tuple[int, int]] = {}  # fp -> (primary id, last ms)
        # Ordered oldest -> newest touch; values are last-seen ms.
        self._buckets: dict[str, OrderedDict[int, int]] = {}
        self._newest_ms = 0
        self._swept_ms = 0

    def __len__(self) -> int:
        return len(self._primaries)

    async def match_many(
        self, candidates: Sequence[DedupeCandidate], cfg: DedupeConfig
    ) -> list[DedupeDecision]:
        # No await between candidates: atomic with respect to every other caller.
        return [await self.match_or_add(c, cfg) for c in candidates]

    async def match_or_add(self, c: DedupeCandidate, cfg: DedupeConfig) -> DedupeDecision:
        seen, window = _ms(c), cfg.window_ms
        self._maybe_sweep(seen, window)
        if c.alert_id in self._primaries:
            return decide.already_primary(c)
        lo, hi = seen - window, seen + window
        hit = self._fingerprints.get(c.fingerprint)
        if hit is not None:
            primary = self._primaries.get(hit[0])
            if primary is not None and primary.last_ms >= lo and primary.first_ms <= hi:
                self._merge(primary, c.fingerprint, seen, cfg)
                return decide.exact(c, primary.id, cfg)

        sig = Signature.of(c.asset_id, c.event_type, c.severity, c.source, c.title)
        best: tuple[int, Signature] | None = None
        best_score = -1.0
        compared: set[int] = set()
        weights = cfg.weights
        for bucket in self._compared_buckets(sig, cfg):
            for pid in list(reversed(bucket))[: cfg.max_candidates]:
                primary = self._primaries.get(pid)
                if primary is None:
                    del bucket[pid]
                    continue
                if pid in compared or primary.last_ms < lo or primary.first_ms > hi:
                    continue
                compared.add(pid)
                fields = field_score(sig, primary.sig, weights)
                bound = fields + weights.title
                if bound <= cfg.threshold or bound < best_score:
                    # Even an identical title could not pass the threshold, or reach the
                    # best so far: neither a match nor a near miss worth naming.
                    continue
                value = fields + weights.title * jaccard(sig.tokens, primary.sig.tokens)
                # Ties go to the oldest primary (lowest id), as in the Lua script.
                if value > best_score or (value == best_score and best and pid < best[0]):
                    best, best_score = (pid, primary.sig), value
        if best is not None and best_score > cfg.threshold:
            self._merge(self._primaries[best[0]], c.fingerprint, seen, cfg)
            return decide.similar(c, sig, best[0], best[1], cfg)
        self._add(c, sig, seen, cfg)
        return decide.new_primary(sig, best, cfg)

    async def forget(self, alert_id: int) -> None:
        self._drop(alert_id)

    def _drop(self, alert_id: int) -> None:
        primary = self._primaries.pop(alert_id, None)
        if primary is None:
            return
        for key in self._bucket_keys(primary.sig):
            bucket = self._buckets.get(key)
            if bucket is not None:
                bucket.pop(alert_id, None)
                if not bucket:
                    del self._buckets[key]
        if self._fingerprints.get(primary.fingerprint, (None,))[0] == alert_id:
            del self._fingerprints[primary.fingerprint]

    async def close(self) -> None:
        self._primaries.clear()
        self._fingerprints.clear()
        self._buckets.clear()

    @staticmethod
    def _bucket_keys(sig: Signature) -> list[str]:
        keys = []
        if sig.asset_id:
            keys.append("a:" + sig.asset_id)
        if sig.event_type:
            keys.append("r:" + sig.event_type)
        return keys

    def _compared_buckets(
        self, sig: Signature, cfg: DedupeConfig
    ) -> Iterator[OrderedDict[int, int]]:
        """The buckets whose primaries could be this alert's primary, asset bucket first.

        When a primary sharing only the event type cannot pass the threshold (see
        :attr:`DedupeConfig.event_type_alone_can_match`), the event-type bucket matters only
        for a primary on the same asset that newer ones pushed out of a full asset bucket.
        """
        full = False
        if sig.asset_id and (bucket := self._buckets.get("a:" + sig.asset_id)) is not None:
            full = len(bucket) >= cfg.max_candidates
            yield bucket
        if not sig.event_type:
            return
        if sig.asset_id and not full and not cfg.event_type_alone_can_match:
            return
        if (bucket := self._buckets.get("r:" + sig.event_type)) is not None:
            yield bucket

    def _touch(self, primary: _Primary, cfg: DedupeConfig) -> None:
        for key in self._bucket_keys(primary.sig):
            bucket = self._buckets.setdefault(key, OrderedDict())
            bucket[primary.id] = primary.last_ms
            bucket.move_to_end(primary.id)
            while len(bucket) > cfg.max_candidates:
                bucket.popitem(last=False)

    def _merge(self, primary: _Primary, fingerprint: str, seen: int, cfg: DedupeConfig) -> None:
        primary.last_ms = max(primary.last_ms, seen)
        self._primaries.move_to_end(primary.id)  # now the most recently seen
        self._remember(fingerprint, (primary.id, primary.last_ms), cfg)
        self._touch(primary, cfg)

    def _add(self, c: DedupeCandidate, sig: Signature, seen: int, cfg: DedupeConfig) -> None:
        primary = _Primary(c.alert_id, c.fingerprint, sig, seen, seen)
        self._primaries[c.alert_id] = primary
        self._remember(c.fingerprint, (c.alert_id, seen), cfg)
        self._touch(primary, cfg)
        while len(self._primaries) > cfg.max_primaries:
            self._drop(next(iter(self._primaries)))  # the least recently seen

    def _remember(self, fingerprint: str, hit: tuple[int, int], cfg: DedupeConfig) -> None:
        self._fingerprints.pop(fingerprint, None)
        self._fingerprints[fingerprint] = hit
        if len(self._fingerprints) > 4 * cfg.max_primaries:
            # Amortised: keep the newer half of those whose primary is still held.
            held = [(fp, h) for fp, h in self._fingerprints.items() if h[0] in self._primaries]
            self._fingerprints = dict(held[-2 * cfg.max_primaries :])

    def _maybe_sweep(self, seen: int, window: int) -> None:
        # Sweep whenever the clock has moved a quarter window: amortised O(1) per alert.
        self._newest_ms = max(self._newest_ms, seen)
        if self._newest_ms - self._swept_ms < window // 4:
            return
        self._swept_ms = self._newest_ms
        cutoff = self._newest_ms - window
        expired = [p.id for p in self._primaries.values() if p.last_ms < cutoff]
        for pid in expired:
            del self._primaries[pid]
        self._fingerprints = {fp: hit for fp, hit in self._fingerprints.items() if hit[1] >= cutoff}
        for bucket in self._buckets.values():
            for pid in [pid for pid, last in bucket.items() if last < cutoff]:
                del bucket[pid]
        for key in [k for k, b in self._buckets.items() if not b]:
            del self._buckets[key]
