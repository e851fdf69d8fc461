"""Dedupe settings: the seed's similarity weights, threshold and time window.

Example (the ``dedupe:`` section of the bridge config)::

    threshold: 0.8
    window: 3600            # seconds, or an ISO 8601 duration such as PT1H
    max_candidates: 50
    weights: {asset_id: 0.3, event_type: 0.25, severity: 0.2, source: 0.15, title: 0.1}
"""

from __future__ import annotations

from datetime import timedelta
from typing import Self

from pydantic import BaseModel, ConfigDict, Field, model_validator


class DedupeWeights(BaseModel):
    """How much each matching field adds to the similarity score (the seed's factors)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    asset_id: float = Field(default=0.3, ge=0)
    event_type: float = Field(default=0.25, ge=0)
    severity: float = Field(default=0.2, ge=0)
    source: float = Field(default=0.15, ge=0)
    title: float = Field(default=0.1, ge=0)

    @property
    def total(self) -> float:
        return self.asset_id + self.event_type + self.severity + self.source + self.title


class DedupeConfig(BaseModel):
    """Similarity dedupe: a candidate above ``threshold`` merges into its best primary."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    weights: DedupeWeights = Field(default_factory=DedupeWeights)
    # Strictly greater than, as the seed's ``calculate_similarity(...) > threshold``.
    threshold: float = Field(default=0.8, gt=0)
    # A primary stays matchable while its last occurrence is within this of the candidate.
    window: timedelta = Field(default=timedelta(hours=1))
    # Primaries compared per bucket (the most recent ones), which bounds the cost per alert.
    max_candidates: int = Field(default=50, ge=1, le=10_000)
    # In-process index only (Redis expires its keys by the window): primaries held at most,
    # the least recently seen dropped first, so memory stays bounded at any alert rate.
    max_primaries: int = Field(default=50_000, ge=1)

    @model_validator(mode="after")
    def _check(self) -> Self:
        if self.window <= timedelta(0):
            raise ValueError("window: must be positive")
        w = self.weights
        if self.threshold >= w.total:
            raise ValueError(
                f"threshold: {self.threshold:g} is not below the sum of the weights "
                f"({w.total:g}), so no alert could ever be a duplicate"
            )
        # Candidates are looked up in asset and event-type buckets only; that misses nothing
        # only while the other fields alone cannot pass the threshold.
        rest = w.severity + w.source + w.title
        if rest > self.threshold:
            raise ValueError(
                f"weights: severity + source + title = {rest:g} exceed the threshold "
                f"{self.threshold:g}; alerts sharing neither asset nor event type could match, "
                "and the bucketed index would miss them"
            )
        return self

    @property
    def event_type_alone_can_match(self) -> bool:
        """Whether a primary sharing the event type but not the asset could pass the threshold.

        With the seed's weights it cannot (0.25 + 0.2 + 0.15 + 0.1 = 0.7, not above 0.8), so an
        alert with an asset is compared with the primaries of its asset bucket only: those of
        its event-type bucket could never be its primary. (The Lua script adds the same terms
        in the same order.)"""
        w = self.weights
        return w.event_type + w.severity + w.source + w.title > self.threshold

    @property
    def window_ms(self) -> int:
        return max(1, int(self.window.total_seconds() * 1000))
