"""The ``anomaly`` stage: current anomaly scores of series related to each new alert.

Related means the same ``asset`` label, or, when no scored series carries the alert's asset,
the same ``platform`` (Robusta-style enrichment, from the scores the bridge's own anomaly
scheduler publishes). The context is stored with the alert. When the highest related score is
above the classification's anomaly threshold, the alert is classified again with that score,
so its reasons, confidence and urgency say it arrived in an anomalous context; that costs one
history query, and only for those alerts.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping, Sequence
from typing import Any, Protocol

from bridge.anomaly.publish import Published
from bridge.classify import Classification, ClassificationEngine
from bridge.pipeline.base import Batch, StoreRef
from bridge.pipeline.classify import BatchContext, alert_facts, new_firing
from bridge.store.base import IncomingAlert

MAX_SERIES = 10  # series listed per alert; the maximum score is always included


class ScoreSource(Protocol):
    def current(self) -> list[Published]: ...


def related(published: Sequence[Published], alert: IncomingAlert) -> list[Published]:
    """Scores on the alert's asset, else on its platform; most anomalous first."""
    asset, platform = alert.asset_id, alert.labels.get("platform")
    found = [p for p in published if asset and p.labels.get("asset") == asset]
    if not found and platform:
        found = [p for p in published if p.labels.get("platform") == platform]
    return sorted(found, key=lambda p: p.score.anomaly_score, reverse=True)


def _finite(value: float) -> float | None:
    return value if math.isfinite(value) else None  # JSON has no infinity (warming-up bands)


def context_of(found: Sequence[Published]) -> dict[str, Any]:
    return {
        "max_score": max((p.score.anomaly_score for p in found), default=None),
        "series": [
            {
                "labels": dict(p.labels),
                "anomaly_score": p.score.anomaly_score,
                "yhat": _finite(p.score.yhat),
                "yhat_lower": _finite(p.score.yhat_lower),
                "yhat_upper": _finite(p.score.yhat_upper),
                "timestamp": p.timestamp,
            }
            for p in found[:MAX_SERIES]
        ],
    }


class AnomalyContext:
    name = "anomaly"

    def __init__(
        self,
        scores: ScoreSource | None = None,
        *,
        engine: ClassificationEngine | None = None,
        store: StoreRef | None = None,
    ) -> None:
        self._scores = scores
        self._engine = engine
        self._store = store

    async def process(self, batch: Batch) -> Batch:
        context: dict[int, Mapping[str, Any]] = dict(batch.anomaly)
        published = self._scores.current() if self._scores else []
        anomalous: dict[int, float] = {}
        for receipt in batch.created:
            found = related(published, receipt.alert) if published else []
            context[receipt.instance_id] = context_of(found) if found else {}
            top = found[0].score.anomaly_score if found else None
            if top is not None and self._engine and top > self._engine.config.anomaly_threshold:
                anomalous[receipt.instance_id] = top
        classifications = dict(batch.classifications)
        if anomalous and self._engine and self._store:
            classifications.update(await self._reclassify(batch, anomalous))
        return dataclasses.replace(batch, anomaly=context, classifications=classifications)

    async def _reclassify(
        self, batch: Batch, scores: Mapping[int, float]
    ) -> dict[int, Classification]:
        if self._engine is None or self._store is None:
            return {}
        created = batch.created
        now = batch.delivery.received_at
        history = await self._store().classification_history(
            [(r.alert.rule_id, r.alert.asset_id) for r in created],
            now=now,
        )
        ctx = BatchContext(history, new_firing([batch]))
        results: dict[int, Classification] = {}
        for receipt in created:
            if receipt.instance_id in scores:
                facts = dataclasses.replace(
                    alert_facts(receipt.instance_id, receipt.alert),
                    anomaly_score=scores[receipt.instance_id],
                )
                results[receipt.instance_id] = await self._engine.classify(facts, ctx, now=now)
        return results
