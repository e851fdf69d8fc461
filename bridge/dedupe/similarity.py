"""The seed's ``calculate_similarity``, shared by both index backends (and mirrored in Lua).

Score = sum of the weights of the fields that are equal (asset, event type, severity, source)
+ the title weight times the Jaccard index of the titles' token sets. Two differences from the
seed, on purpose: a field missing on either side never counts as a match (absent data is not
evidence), and title similarity is defined as that Jaccard index over lower-cased alphanumeric
tokens (0 when both titles are empty). The Lua script in :mod:`bridge.dedupe.redis_index` adds
the same terms in the same order, so both backends compute bit-identical scores.
"""

from __future__ import annotations

import re
import sys

from bridge.dedupe.config import DedupeWeights
from bridge.frozen import frozen

_TOKEN = re.compile(r"[a-z0-9]+")


def tokens(title: str | None) -> frozenset[str]:
    # Interned: the in-process index holds thousands of titles sharing the same few words.
    return frozenset(map(sys.intern, _TOKEN.findall(title.lower()))) if title else frozenset()


def jaccard(a: frozenset[str], b: frozenset[str]) -> float:
    union = len(a | b)
    return len(a & b) / union if union else 0.0


@frozen
class Signature:
    """The compared fields of an alert; ``""`` stands for a missing value (as in Redis)."""

    asset_id: str
    event_type: str
    severity: str
    source: str
    tokens: frozenset[str]

    @classmethod
    def of(
        cls,
        asset_id: str | None,
        event_type: str | None,
        severity: str | None,
        source: str | None,
        title: str | None,
    ) -> Signature:
        return cls(asset_id or "", event_type or "", severity or "", source or "", tokens(title))

    @property
    def token_text(self) -> str:
        return " ".join(sorted(self.tokens))


def score(a: Signature, b: Signature, w: DedupeWeights) -> float:
    return field_score(a, b, w) + w.title * jaccard(a.tokens, b.tokens)


def field_score(a: Signature, b: Signature, w: DedupeWeights) -> float:
    """The score without its title term; ``field_score + w.title`` bounds :func:`score`."""
    total = 0.0
    if a.asset_id and a.asset_id == b.asset_id:
        total += w.asset_id
    if a.event_type and a.event_type == b.event_type:
        total += w.event_type
    if a.severity and a.severity == b.severity:
        total += w.severity
    if a.source and a.source == b.source:
        total += w.source
    return total


def explain(a: Signature, b: Signature, w: DedupeWeights) -> list[str]:
    """The terms of :func:`score`, one readable line per contributing field."""
    lines = [
        f"{name} matches (+{weight:g})"
        for name, weight, mine, theirs in (
            ("asset_id", w.asset_id, a.asset_id, b.asset_id),
            ("event_type", w.event_type, a.event_type, b.event_type),
            ("severity", w.severity, a.severity, b.severity),
            ("source", w.source, a.source, b.source),
        )
        if mine and mine == theirs
    ]
    similarity = jaccard(a.tokens, b.tokens)
    if similarity:
        lines.append(f"title token Jaccard {similarity:.2f} (+{w.title * similarity:.3g})")
    return lines
