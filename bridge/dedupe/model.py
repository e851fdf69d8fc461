"""The records and the index interface of similarity dedupe.

The integration side turns each fresh alert into a :class:`DedupeCandidate` and asks a
:class:`DedupeIndex` whether it duplicates a *primary* alert seen within the window. The index
stores only primaries (and which fingerprints map to them); merging occurrence counts into
the primary's stored row is the caller's job, driven by :class:`DedupeDecision`.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Protocol

from bridge.frozen import frozen

if TYPE_CHECKING:
    from bridge.dedupe.config import DedupeConfig


@frozen
class DedupeCandidate:
    """One alert as dedupe sees it; ``seen_at`` should be the receipt time."""

    alert_id: int
    fingerprint: str
    asset_id: str | None
    event_type: str | None  # the rule_id
    severity: str | None
    source: str | None
    title: str | None
    seen_at: datetime


@frozen
class DedupeDecision:
    """``primary_id`` None: the candidate is (now) a primary; otherwise it duplicates that one."""

    primary_id: int | None
    score: float
    exact: bool
    reasons: tuple[str, ...]

    @property
    def duplicate(self) -> bool:
        return self.primary_id is not None


class DedupeIndex(Protocol):
    """Shared dedupe state; ``match_or_add`` is atomic across every caller of one index."""

    async def match_or_add(self, c: DedupeCandidate, cfg: DedupeConfig) -> DedupeDecision: ...

    async def match_many(
        self, candidates: Sequence[DedupeCandidate], cfg: DedupeConfig
    ) -> list[DedupeDecision]:
        """``match_or_add`` for each candidate in order, as one atomic step."""
        ...

    async def forget(self, alert_id: int) -> None: ...

    async def close(self) -> None: ...
