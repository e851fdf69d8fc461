"""The ``classify`` stage: the seed's classification for every alert instance a delivery created.

History counts and related open alerts come from the store in one query per delivery (the
webhook hot path), through :class:`BatchContext`, which answers the engine from that snapshot.
"""

from __future__ import annotations

import dataclasses
from collections import defaultdict
from datetime import datetime

from bridge.classify import (
    AlertFacts,
    Classification,
    ClassificationEngine,
    HistoryCounts,
)
from bridge.pipeline.base import Batch, StoreRef
from bridge.store.base import IncomingAlert
from bridge.store.records import ClassificationHistory

# Related incidents listed per alert; enough to follow, bounded for the alert's JSON.
MAX_RELATED = 20


class BatchContext:
    """:class:`~bridge.classify.ClassificationContext` over one store snapshot per delivery."""

    def __init__(self, history: ClassificationHistory) -> None:
        self._counts = history.counts
        # Indexed once per delivery, so each alert's look-up is a dict hit, not a scan.
        self._by_rule: dict[str, list[int]] = defaultdict(list)
        self._by_asset: dict[str, list[int]] = defaultdict(list)
        for alert_id, rule_id, asset_id in sorted(history.open_alerts, reverse=True):
            if rule_id is not None:
                self._by_rule[rule_id].append(alert_id)
            if asset_id is not None:
                self._by_asset[asset_id].append(alert_id)

    async def history(self, rule_id: str | None, asset_id: str | None) -> HistoryCounts:
        week, month = self._counts.get((rule_id, asset_id), (0, 0))
        return HistoryCounts(last_7d=week, last_30d=month)

    async def related_open(
        self, rule_id: str | None, asset_id: str | None, exclude_id: int
    ) -> list[int]:
        """Active alerts on the same asset first, then on the same rule; newest first."""
        related: dict[int, None] = {}
        for ids in (self._by_asset.get(asset_id or ""), self._by_rule.get(rule_id or "")):
            for alert_id in ids or ():
                if alert_id != exclude_id:
                    related[alert_id] = None
        return list(related)[:MAX_RELATED]


def alert_facts(alert_id: int, alert: IncomingAlert) -> AlertFacts:
    return AlertFacts(
        alert_id=alert_id,
        fingerprint=alert.fingerprint,
        rule_id=alert.rule_id,
        title=alert.title,
        severity=alert.severity,
        category=alert.category,
        asset_id=alert.asset_id,
        environment=alert.environment,
        platform=alert.labels.get("platform"),
        labels=alert.labels,
        annotations=alert.annotations,
        starts_at=alert.starts_at,
    )


class Classify:
    name = "classify"

    def __init__(self, engine: ClassificationEngine, store: StoreRef) -> None:
        self._engine = engine
        self._store = store

    async def process(self, batch: Batch) -> Batch:
        created = batch.created
        if not created:
            return batch
        now: datetime = batch.delivery.received_at
        history = await self._store().classification_history(
            [(r.alert.rule_id, r.alert.asset_id) for r in created],
            exclude_ids=[r.instance_id for r in created],
            now=now,
        )
        context = BatchContext(history)
        results: dict[int, Classification] = dict(batch.classifications)
        for receipt in created:
            facts = alert_facts(receipt.instance_id, receipt.alert)
            results[receipt.instance_id] = await self._engine.classify(facts, context, now=now)
        return dataclasses.replace(batch, classifications=results)
