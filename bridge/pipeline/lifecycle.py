"""The ``lifecycle`` stage: persist what the stages decided, and write each alert's timeline.

One store write per worker pass (several deliveries). New alert instances are created here,
each in one row with its classification and dedupe link; what the same pass does to an
instance it creates (duplicates merged into it, Alertmanager resolving it) is folded into that
row, and what it does to a stored instance goes as one update per instance. Beside them: one
occurrence row per distinct receipt, timeline entries (created, occurrence, classified,
deduplicated into #N, resolved by Alertmanager), a ``security_events`` row per new alert,
each new open primary alert's entry in the escalation schedule, and the compliance
assessments of rules that name frameworks. Time to resolve is observed here for alerts
Alertmanager resolved.
"""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from bridge.dedupe import DedupeDecision
from bridge.frozen import frozen
from bridge.metrics import BridgeMetrics
from bridge.pipeline.base import Batch, StoreRef, yield_to_loop
from bridge.pipeline.compliance import assessments
from bridge.pipeline.dedupe import alert_source
from bridge.store.base import ReceiptResult
from bridge.store.pending import NotYetVisible
from bridge.store.records import (
    AppliedWrite,
    ComplianceAssessment,
    DuplicateLink,
    InstanceUpdate,
    NewInstance,
    Occurrence,
    PreparedWrite,
    ProcessingWrite,
    SecurityEvent,
    TimelineEntry,
)

# Waits before trying a write again whose instance another pass is still committing (about
# 0.8 s in all, several of that pass's writes); after them, the recovery sweep takes over.
VISIBILITY_RETRY_SECONDS = (0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.4)


@dataclass(slots=True)
class _Update:
    """What the pass does to a stored instance, collected before it becomes an update."""

    at: datetime
    merged: list[DuplicateLink] = field(default_factory=list)
    resolve: tuple[datetime | None, datetime] | None = None


@dataclass(slots=True)
class PassWrite:
    """The write of a pass being planned, delivery by delivery (see :func:`plan`)."""

    instances: dict[int, NewInstance] = field(default_factory=dict)  # in pass order
    updates: dict[int, _Update] = field(default_factory=dict)
    occurrences: list[Occurrence] = field(default_factory=list)
    timeline: list[TimelineEntry] = field(default_factory=list)
    processed: list[tuple[str, datetime, str]] = field(default_factory=list)
    events: list[SecurityEvent] = field(default_factory=list)
    compliance: list[ComplianceAssessment] = field(default_factory=list)

    def resolve(self, receipt: ReceiptResult, at: datetime) -> None:
        """Alertmanager resolved ``receipt``'s instance: fold it into a new instance of this
        pass, or ask the store to resolve the stored one."""
        alert, alert_id = receipt.alert, receipt.instance_id
        resolved_at = alert.ends_at or at
        new = self.instances.get(alert_id)
        if new is None:
            update = self.updates.setdefault(alert_id, _Update(at))
            update.at, update.resolve = at, (alert.ends_at, resolved_at)
            return  # the store writes the timeline entry, if the resolution is news
        if new.am_status == "resolved":
            return
        self.instances[alert_id] = dataclasses.replace(
            new, am_status="resolved", ends_at=alert.ends_at, status="resolved",
            resolved_at=resolved_at, resolved_by="alertmanager", updated_at=at,
        )  # fmt: skip
        self.timeline.append(
            TimelineEntry(alert_id, at, "resolved", "resolved by Alertmanager", "alertmanager")
        )

    def merge(self, link: DuplicateLink) -> None:
        """``link.alert_id`` repeats ``link.primary_id``: count it on the primary."""
        primary = self.instances.get(link.primary_id)
        if primary is None:
            update = self.updates.setdefault(link.primary_id, _Update(link.at))
            update.at = max(update.at, link.at)
            update.merged.append(link)
            return
        last = max(link.at, primary.last_occurrence_at or link.at)
        self.instances[link.primary_id] = dataclasses.replace(
            primary, occurrence_count=primary.occurrence_count + 1, last_occurrence_at=last,
            duplicates=(*primary.duplicates, link), updated_at=max(primary.updated_at, link.at),
        )  # fmt: skip

    def freeze(self) -> ProcessingWrite:
        # Escalation starts here, once the alert is classified and known not to be a
        # duplicate, and counts its levels' delays from the alert's creation.
        scheduled = [
            (i.id, i.created_at) for i in self.instances.values()
            if i.am_status != "resolved" and i.primary_id is None
        ]  # fmt: skip
        return ProcessingWrite(
            instances=list(self.instances.values()),
            updates=[
                InstanceUpdate(alert_id, u.at, tuple(u.merged), u.resolve)
                for alert_id, u in self.updates.items()
            ],
            occurrences=self.occurrences,
            timeline=self.timeline,
            processed=self.processed,
            events=self.events,
            scheduled=scheduled,
            compliance=self.compliance,
        )


def new_instance(
    receipt: ReceiptResult, batch: Batch, decision: DedupeDecision | None = None
) -> NewInstance:
    """The row a created receipt becomes, with its classification if the stage ran and its
    link to the primary it repeats (``decision``), built once: this runs for every alert."""
    alert, at = receipt.alert, batch.delivery.received_at
    result = batch.classifications.get(receipt.instance_id)
    primary_id = _primary_of(receipt.instance_id, decision)
    score = decision.score if decision is not None and primary_id is not None else None
    severity = base_severity = alert.severity
    category, impact, urgency, confidence = alert.category, None, None, None
    reasons: list[dict[str, str]] = []
    enrichment: dict[str, Any] = {}
    classified_at = None
    if result is not None:
        severity, base_severity, category = result.severity, result.base_severity, result.category
        impact, urgency, confidence = result.business_impact, result.urgency, result.confidence
        reasons = [r.to_json() for r in result.reasons]
        enrichment = result.enrichment_json()
        enrichment["severity_score"] = result.severity_score
        enrichment["anomaly"] = dict(batch.anomaly.get(receipt.instance_id, {}))
        classified_at = at
    return NewInstance(
        id=receipt.instance_id, fingerprint=alert.fingerprint, starts_at=alert.starts_at,
        ends_at=alert.ends_at, am_status="firing", status="open", resolved_at=None,
        resolved_by=None, rule_id=alert.rule_id, alertname=alert.alertname, title=alert.title,
        severity=severity, base_severity=base_severity, category=category,
        business_impact=impact, urgency=urgency, confidence=confidence, reasons=reasons,
        enrichment=enrichment, classified_at=classified_at, asset_id=alert.asset_id,
        environment=alert.environment, labels=alert.labels, annotations=alert.annotations,
        generator_url=alert.generator_url, created_at=at, updated_at=at,
        primary_id=primary_id, dedupe_score=score,
    )  # fmt: skip


def _primary_of(alert_id: int, decision: DedupeDecision | None) -> int | None:
    """The primary ``decision`` links the alert to; None when it is a primary itself."""
    if decision is None or decision.primary_id is None or decision.primary_id == alert_id:
        return None
    return decision.primary_id


def plan(write: PassWrite, batch: Batch) -> None:
    """Add one delivery of the pass to its write, after the deliveries before it."""
    delivery = batch.delivery
    at = delivery.received_at
    fresh = batch.fresh
    for receipt in fresh:
        alert, alert_id = receipt.alert, receipt.instance_id
        write.occurrences.append(
            Occurrence(alert_id, alert.status, alert.starts_at, delivery.group_key,
                       delivery.receiver, at)
        )  # fmt: skip
        if receipt.created:
            instance = new_instance(receipt, batch, batch.dedupe.get(alert_id))
            write.instances[alert_id] = instance
            message = f"created from Alertmanager ({alert.status}, receiver {delivery.receiver})"
            detail: dict[str, Any] = {}
            if instance.classified_at is not None:
                # Created classified, so one entry says both. The reasons are on the alert (the
                # API's ``reasons``); the entry says what classification changed.
                message += f", classified {instance.severity} (rule said {instance.base_severity})"
                detail = {"severity": instance.severity, "base_severity": instance.base_severity,
                          "confidence": instance.confidence}  # fmt: skip
            write.timeline.append(
                TimelineEntry(alert_id, at, "created", message, "alertmanager", detail)
            )
            write.events.append(security_event(receipt, batch))
        else:
            message = f"Alertmanager sent it {alert.status}"
            write.timeline.append(
                TimelineEntry(alert_id, at, "occurrence", message, "alertmanager")
            )
        if receipt.resolved:
            write.resolve(receipt, at)
    receipts = {r.instance_id: r for r in batch.created}
    for alert_id, decision in batch.dedupe.items():
        primary_id = _primary_of(alert_id, decision)
        if primary_id is None or alert_id not in write.instances:
            continue
        # The duplicate's own row carries the link already (new_instance).
        source = alert_source(receipts[alert_id]) if alert_id in receipts else None
        link = DuplicateLink(alert_id, primary_id, decision.score, decision.exact, at, source)
        write.merge(link)
        kind = "exact" if decision.exact else f"similar, score {decision.score:.2f}"
        link_detail: dict[str, Any] = {"primary_id": primary_id, "score": decision.score,
                                       "exact": decision.exact,
                                       "reasons": list(decision.reasons)}  # fmt: skip
        write.timeline.append(
            TimelineEntry(alert_id, at, "deduplicated",
                          f"deduplicated into #{primary_id} ({kind})", "bridge", link_detail)
        )  # fmt: skip
        write.timeline.append(
            TimelineEntry(primary_id, at, "occurrence",
                          f"#{alert_id} merged in as a duplicate ({kind})", "bridge", link_detail)
        )  # fmt: skip
    # Every fresh receipt of the batch is done once this write commits (see bridge.store.pending).
    write.processed.extend(r.alert.receipt_key for r in fresh)
    write.compliance.extend(x for r in fresh for x in assessments(r, at))


def processing_write(batches: Sequence[Batch]) -> ProcessingWrite:
    """The write of a pass of deliveries, in order (tests and tools; the stage yields between
    deliveries)."""
    write = PassWrite()
    for batch in batches:
        plan(write, batch)
    return write.freeze()


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


def applied(batch: Batch, done: AppliedWrite) -> Batch:
    """The batch as the later stages see it: a resolution that changed nothing (Alertmanager
    had resolved the instance already) is no longer one."""
    if not any(r.resolved and r.instance_id not in done.resolved for r in batch.receipts):
        return batch
    receipts = [
        dataclasses.replace(r, resolved=False)
        if r.resolved and r.instance_id not in done.resolved else r
        for r in batch.receipts
    ]  # fmt: skip
    return dataclasses.replace(batch, receipts=receipts)


@frozen
class PreparedPass:
    """A pass and its write, planned and encoded, waiting for its turn to be applied."""

    batches: Sequence[Batch]
    write: PreparedWrite | None  # None: nothing to write


class Lifecycle:
    """Plans and encodes a pass's write beside other passes (:meth:`prepare`); in pass order
    only the store round trip (:meth:`apply`)."""

    name = "lifecycle"

    def __init__(self, store: StoreRef, metrics: BridgeMetrics) -> None:
        self._store = store
        self._metrics = metrics

    async def process(self, batch: Batch) -> Batch:
        return (await self.process_many([batch]))[0]

    async def process_many(self, batches: Sequence[Batch]) -> list[Batch]:
        """One transaction for every delivery of the pass."""
        return await self.apply(await self.prepare(batches))

    async def prepare(self, batches: Sequence[Batch]) -> PreparedPass:
        write = PassWrite()
        for batch in batches:
            plan(write, batch)
            await yield_to_loop()
        frozen = write.freeze()
        if not (frozen.occurrences or frozen.timeline or frozen.instances):
            return PreparedPass(batches, None)
        return PreparedPass(batches, self._store().prepare_processing(frozen))

    async def apply(self, prepared: PreparedPass) -> list[Batch]:
        if prepared.write is None:
            return list(prepared.batches)
        done = await self._apply(prepared.write)
        for timing in done.timings:
            self._metrics.observe_resolved(timing.severity, timing.seconds)
        return [applied(batch, done) for batch in prepared.batches]

    async def _apply(self, write: PreparedWrite) -> AppliedWrite:
        """The pass's write; while an instance it changes is still being created by another
        pass or replica (its write not committed yet), again after a short wait."""
        for delay in VISIBILITY_RETRY_SECONDS:
            try:
                return await self._store().apply_prepared(write)
            except NotYetVisible:
                self._metrics.write_retries.inc()
            await asyncio.sleep(delay)
        return await self._store().apply_prepared(write)
