"""The ``dedupe`` stage: the seed's similarity dedupe for every alert instance a delivery created.

Exact re-deliveries never get here (the store made them duplicates of a receipt); this stage
decides whether a *new* instance repeats a recent primary (same fingerprint: the exact fast
path; similar asset, rule, severity, source and title: the weighted score). The index is
shared through Redis when configured, so replicas agree on one primary.
"""

from __future__ import annotations

import dataclasses

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
        created = batch.created
        if not created:
            return batch
        decisions: dict[int, DedupeDecision] = dict(batch.dedupe)
        # One atomic call per delivery (one Redis script call): alerts of the same delivery
        # still match each other, in delivery order.
        results = await self._index.match_many([candidate(r, batch) for r in created], self._config)
        for receipt, decision in zip(created, results, strict=True):
            decisions[receipt.instance_id] = decision
            if decision.duplicate:
                kind = "exact" if decision.exact else "similar"
                self._metrics.alerts_deduplicated.labels(kind=kind).inc()
        return dataclasses.replace(batch, dedupe=decisions)
