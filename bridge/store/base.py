"""The alert store interface every backend implements, and the records that cross it.

The receiver hands the store a :class:`Delivery` (one Alertmanager POST) and gets back one
:class:`ReceiptResult` per alert, telling the pipeline what to do. Idempotency lives here:
an alert is *received* once per (fingerprint, startsAt, status) and an alert *instance* exists
once per (fingerprint, startsAt), so re-sent groups and HA duplicates change only counters.
Receipts are stored when the webhook arrives; the instance is created by the pipeline's write,
once, with its classification.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, Literal, Protocol

from bridge.assets import AssetStore
from bridge.frozen import frozen

if TYPE_CHECKING:
    from bridge.store.pending import PendingDelivery

from bridge.store.records import (
    AlertDetail,
    AppliedWrite,
    ClassificationHistory,
    LifecycleStatus,
    PreparedWrite,
    ProcessingWrite,
    PrunedHistory,
    Transition,
)

# What Alertmanager says about an alert (``am_status``); the bridge's own lifecycle state is
# :data:`~bridge.store.records.LifecycleStatus` (``status``).
AlertStatus = Literal["firing", "resolved"]
ALERT_STATUSES: tuple[AlertStatus, ...] = ("firing", "resolved")


class StoreError(Exception):
    """The store failed; the message is safe to log (no DSN, no password)."""


class StoreUnavailable(StoreError):
    """The store cannot be reached or cannot write right now; callers answer 503 and retry."""


@frozen
class IncomingAlert:
    """One alert as Alertmanager delivered it, plus the columns derived from its labels."""

    fingerprint: str
    status: AlertStatus
    starts_at: datetime
    ends_at: datetime | None
    labels: Mapping[str, str]
    annotations: Mapping[str, str]
    generator_url: str = ""

    @property
    def receipt_key(self) -> tuple[str, datetime, AlertStatus]:
        return self.fingerprint, self.starts_at, self.status

    @property
    def instance_key(self) -> tuple[str, datetime]:
        return self.fingerprint, self.starts_at

    # Label and annotation names are the contract compiled rules attach (design card).
    @property
    def rule_id(self) -> str | None:
        return self.labels.get("rule_id")

    @property
    def alertname(self) -> str | None:
        return self.labels.get("alertname")

    @property
    def severity(self) -> str | None:
        return self.labels.get("severity")

    @property
    def category(self) -> str | None:
        return self.labels.get("category")

    @property
    def asset_id(self) -> str | None:
        return self.labels.get("asset")

    @property
    def environment(self) -> str | None:
        return self.labels.get("environment")

    @property
    def title(self) -> str | None:
        return self.annotations.get("title") or self.alertname


@frozen
class Delivery:
    """One webhook POST: the raw body (kept verbatim, unknown fields included) and its alerts."""

    body: str
    sha256: str
    group_key: str
    receiver: str
    status: AlertStatus
    truncated_alerts: int
    received_at: datetime
    alerts: Sequence[IncomingAlert]


@frozen
class ReceiptResult:
    """What recording one alert of a delivery did, and what the pipeline has to do with it.

    ``instance_id``: the alert instance this receipt belongs to (allocated for a new one).
    ``duplicate``: this (fingerprint, startsAt, status) had been received before (or earlier
    in the same delivery); nothing but a counter changed. ``created``: the first receipt of
    a new alert instance: the pipeline's write creates the instance from it. ``resolved``:
    Alertmanager's resolution, for the pipeline's write to apply; once the write ran, only
    a resolution that moved the instance to resolved (or created it resolved) keeps it.
    """

    alert: IncomingAlert
    instance_id: int
    duplicate: bool
    created: bool
    resolved: bool


@frozen
class ReceiptOutcome:
    """What the store did with one distinct receipt of a delivery."""

    instance_id: int
    inserted: bool  # a new (fingerprint, startsAt, status); False: a counter went up
    new_instance: bool  # its id was allocated now: no receipt of the instance existed


def results_in_order(
    delivery: Delivery, outcomes: Mapping[tuple[str, datetime, AlertStatus], ReceiptOutcome]
) -> list[ReceiptResult]:
    """One result per alert of ``delivery``, in order, from the outcome per distinct receipt.

    A receipt repeated inside the delivery is new only the first time, and of a new instance
    only its first receipt in the delivery creates it (the other is its resolution or an
    occurrence).
    """
    seen_receipts: set[tuple[str, datetime, AlertStatus]] = set()
    seen_instances: set[tuple[str, datetime]] = set()
    results: list[ReceiptResult] = []
    for alert in delivery.alerts:
        outcome = outcomes.get(alert.receipt_key)
        if outcome is None:
            raise StoreError(f"alert {alert.fingerprint} was not recorded (store inconsistent)")
        new_receipt = outcome.inserted and alert.receipt_key not in seen_receipts
        first_of_instance = alert.instance_key not in seen_instances
        seen_receipts.add(alert.receipt_key)
        seen_instances.add(alert.instance_key)
        results.append(
            ReceiptResult(
                alert,
                outcome.instance_id,
                duplicate=not new_receipt,
                created=new_receipt and first_of_instance and outcome.new_instance,
                resolved=new_receipt and alert.status == "resolved",
            )
        )
    return results


@frozen
class StoredAlert:
    """An alert instance as the API shows it.

    ``severity`` is the classified (final) severity once the pipeline ran, the rule's label
    before; ``base_severity`` keeps the rule's. ``duplicates`` lists the instances merged into
    this one (``{"alert_id", "timestamp", "source", "score"}``), ``primary_id`` the one this
    instance was merged into.
    """

    id: int
    fingerprint: str
    rule_id: str | None
    alertname: str | None
    title: str | None
    severity: str | None
    category: str | None
    status: LifecycleStatus
    am_status: AlertStatus
    asset_id: str | None
    environment: str | None
    labels: Mapping[str, str]
    annotations: Mapping[str, str]
    generator_url: str
    starts_at: datetime
    ends_at: datetime | None
    occurrence_count: int
    created_at: datetime
    updated_at: datetime
    acknowledged_at: datetime | None
    resolved_at: datetime | None
    base_severity: str | None = None
    business_impact: str | None = None
    urgency: str | None = None
    confidence: float | None = None
    reasons: Sequence[Mapping[str, Any]] = ()
    enrichment: Mapping[str, Any] | None = None
    classified_at: datetime | None = None
    primary_id: int | None = None
    dedupe_score: float | None = None
    last_occurrence_at: datetime | None = None
    duplicates: Sequence[Mapping[str, Any]] = ()
    acknowledged_by: str | None = None
    resolved_by: str | None = None
    suppressed_at: datetime | None = None
    suppressed_by: str | None = None
    suppressed_until: datetime | None = None
    silence_id: str | None = None


@frozen
class AlertQuery:
    """Filters for listing alerts, newest first; ``before_id`` continues a previous page."""

    status: LifecycleStatus | None = None
    severity: str | None = None
    rule_id: str | None = None
    asset_id: str | None = None
    since: datetime | None = None  # created at or after
    before_id: int | None = None
    limit: int = 100


@frozen
class AlertPage:
    alerts: Sequence[StoredAlert]
    # The id to pass as ``before_id`` for the next page; None on the last page.
    next_before_id: int | None


class AlertStore(Protocol):
    """Alert history. Every method raises :class:`StoreUnavailable` for temporary trouble."""

    async def record_delivery(self, delivery: Delivery) -> list[ReceiptResult]:
        """Durably store the raw payload and every alert's receipt in one transaction.

        Returns one result per ``delivery.alerts`` entry, in order. Once this returns, the
        data is committed; if it raises, nothing of the delivery may be assumed stored. Each
        new receipt stays pending until :meth:`apply_processing` completes it; the alert
        instance itself is created there, with what the pipeline decided.
        """
        ...

    async def list_alerts(self, query: AlertQuery) -> AlertPage:
        """Alert instances matching ``query``, newest first."""
        ...

    async def get_alert(self, alert_id: int) -> AlertDetail | None:
        """One alert with its occurrences and timeline; None if no such id."""
        ...

    async def classification_history(
        self,
        pairs: Sequence[tuple[str | None, str | None]],
        *,
        now: datetime,
    ) -> ClassificationHistory:
        """History counts and open alerts for (rule_id, asset_id) pairs: one query per pass.

        Every stored instance counts: the pipeline classifies an alert before its write
        creates it."""
        ...

    async def apply_processing(self, write: ProcessingWrite) -> AppliedWrite:
        """Persist what the pipeline decided for a pass of deliveries, in one transaction:
        :meth:`apply_prepared` of :meth:`prepare_processing`.

        Raises ``AlreadyProcessed`` (another worker completed a receipt first) or
        ``WriteConflict`` (an instance it changes is not created yet, or was created by the
        instance's other receipt); nothing is written then.
        """
        ...

    def prepare_processing(self, write: ProcessingWrite) -> PreparedWrite:
        """The CPU-bound part of a write, done before the pass's turn (no I/O)."""
        ...

    async def apply_prepared(self, prepared: PreparedWrite) -> AppliedWrite:
        """Write what :meth:`prepare_processing` of this store prepared (as
        :meth:`apply_processing`); it may be applied again after a ``NotYetVisible``."""
        ...

    async def claim_unprocessed(
        self, *, now: datetime, lease: timedelta, limit: int
    ) -> list[PendingDelivery]:
        """Claim up to ``limit`` receipts the pipeline has not processed, for ``lease``.

        Only receipts nobody holds are claimed: one received less than ``lease`` ago still
        belongs to the receiving process, whose queue holds it.
        """
        ...

    async def transition(self, transition: Transition) -> StoredAlert:
        """Apply a lifecycle action; raises ``AlertNotFound`` or ``InvalidTransition``."""
        ...

    async def expire_stale(self, *, cutoff: datetime, now: datetime) -> list[StoredAlert]:
        """Resolve active alerts whose firing receipt was last received before ``cutoff``.

        Alerts of a group that sent a truncated payload since ``cutoff`` are kept: a missing
        alert is not a resolved one.
        """
        ...

    async def end_suppressions(self, *, now: datetime) -> list[StoredAlert]:
        """Reopen still-firing alerts whose suppression (``suppressed_until``) has ended."""
        ...

    async def open_counts(self) -> dict[str, int]:
        """Alerts with ``status = 'open'``, by severity."""
        ...

    async def prune_payload_bodies(self, *, received_before: datetime, limit: int) -> int:
        """Empty (``{}``) the raw bodies of up to ``limit`` webhook payloads received before
        ``received_before``; returns how many. Their rows, digests and alerts stay, so an
        old body Alertmanager sends again is still recognised."""
        ...

    async def prune_history(self, *, before: datetime, limit: int) -> PrunedHistory:
        """Delete the ``limit`` oldest finished alerts (resolved or suppressed) last updated
        and last received before ``before``, with no pipeline work pending, each with the
        duplicates merged into it (a primary goes only when all of them can), together with
        every row that names them (timeline, occurrences, receipts, escalations,
        notifications); up to ``limit`` ``security_events`` and every dead letter created
        before ``before``. Active alerts stay. ``more`` says a batch was full."""
        ...

    def asset_store(self) -> AssetStore:
        """The ``assets`` table on the same connections (and timeouts) as this store."""
        ...

    async def ping(self) -> None:
        """Raise :class:`StoreUnavailable` unless the store answers a query right now."""
        ...

    async def close(self) -> None:
        """Release connections and threads; the store is unusable afterwards."""
        ...
