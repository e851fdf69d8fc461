"""The ``classify`` stage: the seed's classification for every alert instance a delivery created.

History counts and related open alerts come from the store in one query per worker pass
(several deliveries), through :class:`BatchContext`, which answers the engine from that snapshot.
"""

from __future__ import annotations

import copy
import dataclasses
from collections import Counter, defaultdict
from collections.abc import Mapping, Sequence
from datetime import datetime

from bridge.classify import (
    AlertFacts,
    Classification,
    ClassificationEngine,
    HistoryCounts,
)
from bridge.pipeline.base import Batch, StoreRef, yield_to_loop
from bridge.store.base import IncomingAlert
from bridge.store.records import ClassificationHistory

Pair = tuple[str | None, str | None]  # (rule_id, asset_id)

# Related incidents listed per alert; enough to follow, bounded for the alert's JSON.
MAX_RELATED = 20


class BatchContext:
    """:class:`~bridge.classify.ClassificationContext` over one store snapshot per pass.

    The pass's own new alerts are not stored yet when it is classified (the pipeline's write
    creates them): they are added here, as the history would hold them had each delivery been
    written before the next was classified. So a delivery's history counts its pass's earlier
    deliveries, and an alert's related incidents include the pass's other firing alerts.
    """

    def __init__(
        self,
        history: ClassificationHistory,
        new_alerts: Sequence[tuple[int, str | None, str | None]] = (),
    ) -> None:
        self._counts = history.counts
        # Alerts of the pass's earlier deliveries, which the stored history does not hold.
        self._earlier: Mapping[Pair, int] = {}
        # Indexed once per pass, so each alert's look-up is a dict hit, not a scan.
        self._by_rule: dict[str, list[int]] = defaultdict(list)
        self._by_asset: dict[str, list[int]] = defaultdict(list)
        seen: set[int] = set()
        for alert_id, rule_id, asset_id in sorted(
            (*history.open_alerts, *new_alerts), reverse=True
        ):
            if alert_id in seen:
                continue  # stored already: a pass run again after its write
            seen.add(alert_id)
            if rule_id is not None:
                self._by_rule[rule_id].append(alert_id)
            if asset_id is not None:
                self._by_asset[asset_id].append(alert_id)

    async def history(self, rule_id: str | None, asset_id: str | None) -> HistoryCounts:
        week, month = self._counts.get((rule_id, asset_id), (0, 0))
        earlier = self._earlier.get((rule_id, asset_id), 0)
        return HistoryCounts(last_7d=week + earlier, last_30d=month + earlier)

    def for_delivery(self, earlier: Mapping[Pair, int]) -> BatchContext:
        """The same snapshot, counting ``earlier`` (the pass's earlier deliveries' alerts)."""
        view = copy.copy(self)
        view._earlier = earlier
        return view

    async def related_open(
        self, rule_id: str | None, asset_id: str | None, exclude_id: int
    ) -> list[int]:
        """Active alerts on the same asset first, then on the same rule; newest first."""
        on_asset = self._by_asset.get(asset_id or "")
        same_rule = self._by_rule.get(rule_id or "")
        if on_asset is None or on_asset == [exclude_id]:
            # Usually an asset has no other open alert: the rule's newest, in one slice.
            head = (same_rule or [])[: MAX_RELATED + 1]
            return [alert_id for alert_id in head if alert_id != exclude_id][:MAX_RELATED]
        related: dict[int, None] = {}
        for ids in (on_asset, same_rule):
            for alert_id in ids or ():
                if alert_id != exclude_id:
                    related[alert_id] = None
                    if len(related) == MAX_RELATED:
                        return list(related)  # a busy rule's list can be long: stop here
        return list(related)


def new_firing(batches: Sequence[Batch]) -> list[tuple[int, str | None, str | None]]:
    """(id, rule, asset) of the alerts the pass creates firing: open once it is written."""
    return [
        (r.instance_id, r.alert.rule_id, r.alert.asset_id)
        for batch in batches
        for r in batch.created
        if r.alert.status == "firing"
    ]


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
        return (await self.process_many([batch]))[0]

    async def process_many(self, batches: Sequence[Batch]) -> list[Batch]:
        """One history query for every alert the deliveries created, each alert classified
        at its own delivery's receive time."""
        created = [r for batch in batches for r in batch.created]
        if not created:
            return list(batches)
        # The 7- and 30-day windows end at the newest delivery (milliseconds apart).
        history = await self._store().classification_history(
            [(r.alert.rule_id, r.alert.asset_id) for r in created],
            now=max(batch.delivery.received_at for batch in batches),
        )
        snapshot = BatchContext(history, new_firing(batches))
        earlier: Counter[Pair] = Counter()
        out: list[Batch] = []
        for batch in batches:
            if not batch.created:
                out.append(batch)
                continue
            now: datetime = batch.delivery.received_at
            context = snapshot.for_delivery(earlier.copy())
            results: dict[int, Classification] = dict(batch.classifications)
            for receipt in batch.created:
                facts = alert_facts(receipt.instance_id, receipt.alert)
                results[receipt.instance_id] = await self._engine.classify(facts, context, now=now)
            earlier.update((r.alert.rule_id, r.alert.asset_id) for r in batch.created)
            out.append(dataclasses.replace(batch, classifications=results))
            await yield_to_loop()  # between deliveries: webhooks wait for no whole pass
        return out
