"""The pipeline's anomaly stage: related scores attached, and they reach the classification."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime

from bridge.anomaly.base import Score
from bridge.anomaly.publish import Published, ScoreCollector
from bridge.classify import ClassificationConfig, ClassificationEngine
from bridge.pipeline.anomaly import AnomalyContext
from bridge.pipeline.base import Batch
from bridge.pipeline.classify import Classify
from bridge.store.base import Delivery, IncomingAlert, ReceiptResult
from bridge.store.records import ClassificationHistory

NOW = datetime(2024, 6, 1, 3, 0, tzinfo=UTC)  # a Saturday night: no business-hours step


class FakeStore:
    async def classification_history(
        self,
        keys: Sequence[tuple[str | None, str | None]],
        *,
        now: datetime,
    ) -> ClassificationHistory:
        return ClassificationHistory(counts={}, open_alerts=[])


def batch_for(*labels: dict[str, str]) -> Batch:
    alerts = [
        IncomingAlert(
            fingerprint=f"fp{i}",
            status="firing",
            starts_at=NOW,
            ends_at=None,
            labels={
                "alertname": "KongAdmin",
                "rule_id": "kong_admin",
                "severity": "medium",
                **extra,
            },
            annotations={"title": "t"},
        )
        for i, extra in enumerate(labels)
    ]
    delivery = Delivery("{}", "sha", "g", "bridge", "firing", 0, NOW, alerts)
    receipts = [ReceiptResult(a, i + 1, False, True, False) for i, a in enumerate(alerts)]
    return Batch(delivery=delivery, receipts=receipts)


def published(score: float, **labels: str) -> Published:
    return Published({"for": "kong_requests", **labels}, Score(score, 100, 80, 120), 1.0)


async def test_related_scores_attached_and_raise_classification() -> None:
    collector = ScoreCollector()
    collector.replace(
        "kong_requests",
        [
            published(3.5, asset="edge", platform="kong"),
            published(0.2, asset="api", platform="kong"),
            published(0.4, asset="other", platform="github"),
        ],
    )
    store = FakeStore()
    engine = ClassificationEngine(ClassificationConfig())
    batch = batch_for(
        {"asset": "edge", "platform": "kong"},  # its asset is anomalous
        {"asset": "gateway", "platform": "kong"},  # no score on its asset: platform's scores
        {"asset": "x", "platform": "aws"},  # nothing related
    )
    classified = await Classify(engine, lambda: store).process(batch)  # type: ignore[arg-type,return-value]
    before = classified.classifications[1]
    stage = AnomalyContext(collector, engine=engine, store=lambda: store)  # type: ignore[arg-type,return-value]
    after = await stage.process(classified)

    assert after.anomaly[1]["max_score"] == 3.5
    assert [s["labels"]["asset"] for s in after.anomaly[1]["series"]] == ["edge"]
    assert after.anomaly[2]["max_score"] == 3.5  # same platform
    assert after.anomaly[3] == {}

    enriched = after.classifications[1]
    assert any(r.factor == "anomaly" and "3.50" in r.detail for r in enriched.reasons)
    assert enriched.confidence > before.confidence
    assert enriched.severity_score > before.severity_score
    assert after.classifications[3] == classified.classifications[3]  # untouched


async def test_no_scores_is_a_pass_through() -> None:
    batch = batch_for({"asset": "edge"})
    after = await AnomalyContext().process(batch)
    assert after.anomaly == {1: {}}
    assert after.classifications == batch.classifications
