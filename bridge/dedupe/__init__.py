"""Similarity dedupe: the seed's ``AlertDeduplicationEngine`` as a shared, atomic index.

:func:`build_dedupe_index` picks Redis when a URL is configured (several bridge replicas agree
on one primary) and the in-process index otherwise.
"""

from bridge.dedupe.config import DedupeConfig, DedupeWeights
from bridge.dedupe.memory import InMemoryDedupeIndex
from bridge.dedupe.model import DedupeCandidate, DedupeDecision, DedupeIndex
from bridge.dedupe.redis_index import RedisDedupeIndex
from bridge.dedupe.similarity import jaccard, tokens


def build_dedupe_index(redis_url: str | None) -> DedupeIndex:
    """The Redis index for a URL, the in-process one for None."""
    return RedisDedupeIndex(redis_url) if redis_url else InMemoryDedupeIndex()


__all__ = [
    "DedupeCandidate",
    "DedupeConfig",
    "DedupeDecision",
    "DedupeIndex",
    "DedupeWeights",
    "InMemoryDedupeIndex",
    "RedisDedupeIndex",
    "build_dedupe_index",
    "jaccard",
    "tokens",
]
