"""The ``dedupe`` stage: the seed's similarity dedupe for every alert instance a delivery created.

Exact re-deliveries never get here (the store made them duplicates of a receipt); this stage
decides whether a *new* instance repeats a recent primary (same fingerprint: the exact fast
path; similar asset, rule, severity, source and title: the weighted score). The index is
shared through Redis when configured, so replicas agree on one primary.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence

from bridge.dedupe import DedupeCandidate, DedupeConfig, DedupeDecision, DedupeIndex
from bridge.metrics import BridgeMetrics
from bridge.pipeline.base import Batch
from bridge.store.base import ReceiptResult


def candidate(receipt: ReceiptResult, batch: Batch) -> DedupeCandidate:
    alert = receipt.alert
    classified = batch.classifications.get(receipt.instance_id)
    return DedupeCandidate(
        alert_id=receipt.instance_id,
        fingerprint=alert.fingerprint,
        asset_id=alert.asset_id,
        event_type=alert.rule_id,
        severity=classified.severity if classified else alert.severity,
        source=alert_source(receipt),
        title=alert.title,
        seen_at=batch.delivery.received_at,
    )


def alert_source(receipt: ReceiptResult) -> str | None:
    """The seed's ``source``: an explicit ``source`` label, else the platform."""
    labels = receipt.alert.labels
    return labels.get("source") or labels.get("platform")


class Dedupe:
    name = "dedupe"

    def __init__(self, index: DedupeIndex, config: DedupeConfig, metrics: BridgeMetrics) -> None:
        self._index = index
        self._config = config
        self._metrics = metrics

    async def process(self, batch: Batch) -> Batch:
        return (await self.process_many([batch]))[0]

    async def process_many(self, batches: Sequence[Batch]) -> list[Batch]:
        """One atomic index call (one Redis script call) for every alert the deliveries
        created: alerts of the same pass still match each other, in delivery order."""
        pairs = [(batch, r) for batch in batches for r in batch.created]
        if not pairs:
            return list(batches)
        results = await self._index.match_many(
            [candidate(r, batch) for batch, r in pairs], self._config
        )
        decided: dict[int, DedupeDecision] = {}
        for (_, receipt), decision in zip(pairs, results, strict=True):
            decided[receipt.instance_id] = decision
            if decision.duplicate:
                kind = "exact" if decision.exact else "similar"
                self._metrics.alerts_deduplicated.labels(kind=kind).inc()
        out: list[Batch] = []
        for batch in batches:
            if not batch.created:
                out.append(batch)
                continue
            decisions = dict(batch.dedupe)
            decisions.update({r.instance_id: decided[r.instance_id] for r in batch.created})
            out.append(dataclasses.replace(batch, dedupe=decisions))
        return out
