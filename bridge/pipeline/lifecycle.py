"""The ``lifecycle`` stage: persist what the stages decided, and write each alert's timeline.

One store write per worker pass (several deliveries): classification columns, dedupe merges
(primary id, occurrence count, last occurrence, duplicates), one occurrence row per distinct
receipt, timeline entries (created, occurrence, classified, deduplicated into #N, resolved by
Alertmanager), a ``security_events`` row per new alert, each new open primary alert's entry
in the escalation schedule, and the compliance assessments of rules that name frameworks.
Time to resolve is observed here for alerts Alertmanager resolved.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from bridge.metrics import BridgeMetrics
from bridge.pipeline.base import Batch, StoreRef, yield_to_loop
from bridge.pipeline.compliance import assessments
from bridge.pipeline.dedupe import alert_source
from bridge.store.base import ReceiptResult
from bridge.store.records import (
    ClassificationUpdate,
    DuplicateLink,
    Occurrence,
    ProcessingWrite,
    SecurityEvent,
    TimelineEntry,
)


def processing_write(batch: Batch) -> ProcessingWrite:
    delivery = batch.delivery
    at = delivery.received_at
    occurrences: list[Occurrence] = []
    timeline: list[TimelineEntry] = []
    resolved_ids: list[int] = []
    for receipt in batch.fresh:
        alert, alert_id = receipt.alert, receipt.instance_id
        occurrences.append(
            Occurrence(alert_id, alert.status, alert.starts_at, delivery.group_key,
                       delivery.receiver, at)
        )  # fmt: skip
        if receipt.created:
            message = f"created from Alertmanager ({alert.status}, receiver {delivery.receiver})"
            timeline.append(TimelineEntry(alert_id, at, "created", message, "alertmanager"))
        else:
            message = f"Alertmanager sent it {alert.status}"
            timeline.append(TimelineEntry(alert_id, at, "occurrence", message, "alertmanager"))
        if receipt.resolved:
            resolved_ids.append(alert_id)
            timeline.append(
                TimelineEntry(alert_id, at, "resolved", "resolved by Alertmanager", "alertmanager")
            )
    classifications: list[ClassificationUpdate] = []
    for alert_id, result in batch.classifications.items():
        data = result.to_json()
        enrichment: dict[str, Any] = dict(data["enrichment"])
        enrichment["severity_score"] = result.severity_score
        enrichment["anomaly"] = dict(batch.anomaly.get(alert_id, {}))
        classifications.append(
            ClassificationUpdate(
                alert_id=alert_id,
                severity=result.severity,
                base_severity=result.base_severity,
                category=result.category,
                business_impact=result.business_impact,
                urgency=result.urgency,
                confidence=result.confidence,
                reasons=data["reasons"],
                enrichment=enrichment,
                at=at,
            )
        )
        # The reasons are on the alert (the API's ``reasons``); the entry says what changed.
        message = f"classified {result.severity} (rule said {result.base_severity})"
        detail = {"severity": result.severity, "base_severity": result.base_severity,
                  "confidence": result.confidence}  # fmt: skip
        timeline.append(TimelineEntry(alert_id, at, "classified", message, "bridge", detail))
    duplicates: list[DuplicateLink] = []
    receipts = {r.instance_id: r for r in batch.created}
    for alert_id, decision in batch.dedupe.items():
        if decision.primary_id is None or decision.primary_id == alert_id:
            continue
        source = alert_source(receipts[alert_id]) if alert_id in receipts else None
        duplicates.append(
            DuplicateLink(alert_id, decision.primary_id, decision.score, decision.exact, at, source)
        )
        kind = "exact" if decision.exact else f"similar, score {decision.score:.2f}"
        detail = {"primary_id": decision.primary_id, "score": decision.score,
                  "exact": decision.exact, "reasons": list(decision.reasons)}  # fmt: skip
        timeline.append(
            TimelineEntry(alert_id, at, "deduplicated",
                          f"deduplicated into #{decision.primary_id} ({kind})", "bridge", detail)
        )  # fmt: skip
        timeline.append(
            TimelineEntry(decision.primary_id, at, "occurrence",
                          f"#{alert_id} merged in as a duplicate ({kind})", "bridge", detail)
        )  # fmt: skip
    # Every fresh receipt of the batch is done once this write commits (see bridge.store.pending).
    processed = [r.alert.receipt_key for r in batch.fresh]
    # Escalation starts from here, once the alert is classified and known not to be a
    # duplicate, and counts its levels' delays from the alert's creation.
    merged = {link.alert_id for link in duplicates}
    scheduled = [
        (r.instance_id, at) for r in batch.created
        if not r.resolved and r.instance_id not in merged
    ]  # fmt: skip
    compliance = [x for r in batch.fresh for x in assessments(r, at)]
    return ProcessingWrite(
        classifications, duplicates, occurrences, timeline, resolved_ids, processed,
        [security_event(r, batch) for r in batch.created], scheduled, compliance,
    )  # fmt: skip


def security_event(receipt: ReceiptResult, batch: Batch) -> SecurityEvent:
    """The detection a new alert stands for, as the dashboards' ``security_events`` row: its
    source is the compiled rule's ``source`` label (``github_scanner``, ...), else the
    platform, else ``alertmanager`` for alerts secmon's rules did not produce."""
    alert = receipt.alert
    classified = batch.classifications.get(receipt.instance_id)
    return SecurityEvent(
        source=alert.labels.get("source") or alert.labels.get("platform") or "alertmanager",
        event_type=alert.rule_id or alert.labels.get("alertname", "unknown"),
        severity=(classified.severity if classified else alert.severity) or "unknown",
        platform=alert.labels.get("platform"),
        asset_id=alert.asset_id,
        title=alert.title or "",
        details={"alert_id": receipt.instance_id, "fingerprint": alert.fingerprint},
        created_at=batch.delivery.received_at,
    )


class Lifecycle:
    name = "lifecycle"

    def __init__(self, store: StoreRef, metrics: BridgeMetrics) -> None:
        self._store = store
        self._metrics = metrics

    async def process(self, batch: Batch) -> Batch:
        return (await self.process_many([batch]))[0]

    async def process_many(self, batches: Sequence[Batch]) -> list[Batch]:
        """One transaction for every delivery of the pass."""
        writes = []
        for batch in batches:
            writes.append(processing_write(batch))
            await yield_to_loop()
        write = merge_writes(writes)
        if not (write.occurrences or write.timeline or write.classifications):
            return list(batches)
        for timing in await self._store().apply_processing(write):
            self._metrics.observe_resolved(timing.severity, timing.seconds)
        return list(batches)


def merge_writes(writes: Sequence[ProcessingWrite]) -> ProcessingWrite:
    """Several deliveries' writes as one, each list in delivery order."""
    if len(writes) == 1:
        return writes[0]
    return ProcessingWrite(
        classifications=[x for w in writes for x in w.classifications],
        duplicates=[x for w in writes for x in w.duplicates],
        occurrences=[x for w in writes for x in w.occurrences],
        timeline=[x for w in writes for x in w.timeline],
        resolved_ids=[x for w in writes for x in w.resolved_ids],
        processed=[x for w in writes for x in w.processed],
        events=[x for w in writes for x in w.events],
        scheduled=[x for w in writes for x in w.scheduled],
        compliance=[x for w in writes for x in w.compliance],
    )
