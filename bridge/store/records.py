"""Records of the alert lifecycle that cross the store interface.

The pipeline hands the store one :class:`ProcessingWrite` per pass (new alert instances with
their classification and dedupe links, merges and resolutions of stored ones, occurrences,
timeline entries), the API one :class:`Transition` per user action, and reads an
:class:`AlertDetail` back. Kept apart from :mod:`bridge.store.base` so that module
stays about receiving.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import field
from datetime import datetime
from typing import TYPE_CHECKING, Any, Literal

from bridge.frozen import frozen

if TYPE_CHECKING:
    from bridge.store.base import StoredAlert

LifecycleStatus = Literal["open", "acknowledged", "resolved", "suppressed"]
LIFECYCLE_STATUSES: tuple[LifecycleStatus, ...] = ("open", "acknowledged", "resolved", "suppressed")
# Alerts someone still has to deal with; the sweep and Alertmanager resolve only these.
ACTIVE_STATUSES: tuple[LifecycleStatus, ...] = ("open", "acknowledged")

Action = Literal["acknowledge", "resolve", "suppress", "expire", "unsuppress"]
# Which states each action may leave from, and where it goes; anything else is a 409.
TRANSITIONS: dict[Action, tuple[tuple[LifecycleStatus, ...], LifecycleStatus]] = {
    "acknowledge": (("open",), "acknowledged"),
    "resolve": (ACTIVE_STATUSES, "resolved"),
    "suppress": (ACTIVE_STATUSES, "suppressed"),
    "expire": (ACTIVE_STATUSES, "resolved"),
    # A suppression with a duration ends: a still-firing alert is open again.
    "unsuppress": (("suppressed",), "open"),
}


class AlertNotFound(LookupError):
    """No alert instance has this id."""


class InvalidTransition(ValueError):
    """The action is not allowed from the alert's current status."""

    def __init__(self, alert_id: int, action: Action, status: str) -> None:
        super().__init__(f"alert {alert_id} is {status}: cannot {action} it")
        self.status = status


@frozen
class TimelineEntry:
    """One line of an alert's history: what happened, when, who did it."""

    alert_id: int
    at: datetime
    kind: str  # created|occurrence|deduplicated|acknowledged|resolved|suppressed|...
    message: str
    actor: str | None = None
    detail: Mapping[str, Any] = field(default_factory=dict)


@frozen
class Occurrence:
    """One distinct receipt (fingerprint, startsAt, status) of an alert."""

    alert_id: int
    am_status: str
    starts_at: datetime
    group_key: str
    receiver: str
    received_at: datetime


@frozen
class NewInstance:
    """An alert instance as the pipeline's write creates it, in one row: the columns of its
    first receipt, what the stages decided (classification, the duplicate link) and what the
    same write already knows (duplicates merged into it, Alertmanager's resolution).

    The id was allocated when the receipt was recorded. ``classified_at`` is None when no
    classification ran (the rule's severity stands).
    """

    id: int
    fingerprint: str
    starts_at: datetime
    ends_at: datetime | None
    am_status: str  # 'firing' | 'resolved'
    status: LifecycleStatus
    resolved_at: datetime | None
    resolved_by: str | None
    rule_id: str | None
    alertname: str | None
    title: str | None
    severity: str | None
    base_severity: str | None
    category: str | None
    business_impact: str | None
    urgency: str | None
    confidence: float | None
    reasons: Sequence[Mapping[str, Any]]
    enrichment: Mapping[str, Any]
    classified_at: datetime | None
    asset_id: str | None
    environment: str | None
    labels: Mapping[str, str]
    annotations: Mapping[str, str]
    generator_url: str
    created_at: datetime
    updated_at: datetime
    primary_id: int | None = None
    dedupe_score: float | None = None
    occurrence_count: int = 1
    last_occurrence_at: datetime | None = None
    duplicates: Sequence[DuplicateLink] = ()


@frozen
class InstanceUpdate:
    """What one write changes on an alert instance stored before it: duplicates merged into
    it (occurrence count, last occurrence, duplicates list) and Alertmanager's resolution.

    ``resolve`` carries (ends_at, resolved_at) from the resolved receipt: the instance moves to
    ``am_status = 'resolved'``, and an active one (open, acknowledged) to ``status =
    'resolved'``, unless Alertmanager had resolved it already. The store writes the timeline's
    "resolved by Alertmanager" entry and ends escalation only when that happened.
    """

    id: int
    at: datetime
    merged: Sequence[DuplicateLink] = ()
    resolve: tuple[datetime | None, datetime] | None = None


@frozen
class SecurityEvent:
    """A detection recorded in ``security_events``: one per new alert instance."""

    source: str
    event_type: str
    severity: str
    platform: str | None
    asset_id: str | None
    title: str
    details: Mapping[str, Any]
    created_at: datetime


@frozen
class ComplianceAssessment:
    """The current state of one control of one framework on one asset, as an alert shows it.

    Written as the row with ``source = 'secmon'`` for (control, asset): framework and control
    are created on first use, and a later assessment of the same pair replaces it.
    """

    framework: str
    control_ref: str  # the rule that checks the control
    control_title: str
    asset_id: str  # empty when the alert names no asset
    status: str  # 'non_compliant' while the alert fires, 'compliant' once resolved
    evidence: Mapping[str, Any]
    assessed_at: datetime


def current_assessments(
    assessments: Sequence[ComplianceAssessment],
) -> list[ComplianceAssessment]:
    """The last assessment per (framework, control, asset), in key order: the rows to write."""
    latest = {(a.framework, a.control_ref, a.asset_id): a for a in assessments}
    return [latest[key] for key in sorted(latest)]


@frozen
class DuplicateLink:
    """``alert_id`` was found to repeat ``primary_id``: merge it into the primary."""

    alert_id: int
    primary_id: int
    score: float
    exact: bool
    at: datetime
    source: str | None


@frozen
class ProcessingWrite:
    """Everything the pipeline decided for one pass of deliveries; written in one transaction.

    Alert instances are created here, not when their receipts are recorded: each row is
    written once, classified, with its duplicate link.
    """

    instances: Sequence[NewInstance] = ()
    updates: Sequence[InstanceUpdate] = ()
    occurrences: Sequence[Occurrence] = ()
    timeline: Sequence[TimelineEntry] = ()
    # Receipts (fingerprint, startsAt, status) this write completes: marked processed in the
    # same transaction, which fails as a whole if another worker marked any of them first.
    processed: Sequence[tuple[str, datetime, str]] = ()
    events: Sequence[SecurityEvent] = ()
    # New open primary alerts and when their escalation starts (their creation time): only
    # classified, deduplicated alerts reach the escalation scheduler.
    scheduled: Sequence[tuple[int, datetime]] = ()
    # Compliance state the deliveries' alerts show, at most one per (framework, control, asset).
    compliance: Sequence[ComplianceAssessment] = ()


@frozen
class PreparedWrite:
    """A :class:`ProcessingWrite` with what its store computes before the write may start
    (``arguments``: the statement's parameters, encoded), so that the part that runs in pass
    order is the round trip alone. Only the store that prepared it may apply it."""

    write: ProcessingWrite
    arguments: Any = None


@frozen
class AppliedWrite:
    """What a :class:`ProcessingWrite` did that depended on the stored state."""

    # Alerts Alertmanager's resolution moved to resolved in this write (created resolved, or
    # resolved now); an instance it had resolved before is not among them.
    resolved: frozenset[int] = frozenset()
    # Time to resolve of those whose lifecycle status became 'resolved' by Alertmanager.
    timings: Sequence[ResolvedTiming] = ()


@frozen
class PrunedHistory:
    """What one batch of history retention deleted."""

    alerts: int  # alert instances, each with its timeline, occurrences, receipts, escalations
    events: int  # security_events rows
    more: bool = False  # a batch was full: more may be due
    dead_letters: int = 0  # failed deliveries kept for replay, as old as the alerts they were for


# Alerts retention may delete: finished, untouched and not re-sent since the cutoff.
PRUNABLE_STATUSES: tuple[LifecycleStatus, ...] = ("resolved", "suppressed")
# Tables with rows naming an alert by ``alert_id``, deleted with it (notifications before the
# escalations they name).
PER_ALERT_TABLES = (
    "notifications",
    "notification_messages",
    "escalations",
    "escalation_schedule",
    "alert_timeline",
    "alert_occurrences",
)


@frozen
class ResolvedTiming:
    """An alert that reached ``resolved``: its (final) severity and creation-to-resolution time."""

    alert_id: int
    severity: str | None
    seconds: float


@frozen
class Transition:
    """A lifecycle action on one alert (from the API, or the expiry sweep)."""

    alert_id: int
    action: Action
    by: str
    at: datetime
    comment: str | None = None
    until: datetime | None = None  # suppress: how long
    silence_id: str | None = None  # suppress: the Alertmanager silence created with it


@frozen
class AlertDetail:
    """An alert with its occurrences and timeline, for ``GET /api/v1/alerts/{id}``."""

    alert: StoredAlert
    occurrences: Sequence[Occurrence]
    timeline: Sequence[TimelineEntry]


@frozen
class ClassificationHistory:
    """What classification looks up for a batch: history counts and open alerts."""

    # (rule_id, asset_id) -> (instances in the last 7 days, in the last 30 days)
    counts: Mapping[tuple[str | None, str | None], tuple[int, int]]
    # (id, rule_id, asset_id) of active alerts sharing a rule or an asset with the batch
    open_alerts: Sequence[tuple[int, str | None, str | None]]


def transition_entry(transition: Transition, status: LifecycleStatus) -> TimelineEntry:
    """The timeline line a lifecycle action leaves."""
    kind = {"acknowledge": "acknowledged", "expire": "resolved"}.get(transition.action, status)
    verb = {
        "acknowledge": f"acknowledged by {transition.by}",
        "resolve": f"resolved by {transition.by}",
        "suppress": f"suppressed by {transition.by}",
        "expire": "resolved by expiry: Alertmanager stopped sending it",
        "unsuppress": "suppression ended; open again",
    }[transition.action]
    detail: dict[str, Any] = {}
    if transition.comment:
        detail["comment"] = transition.comment
        verb += f": {transition.comment}"
    if transition.until is not None:
        detail["until"] = transition.until.isoformat()
    if transition.silence_id is not None:
        detail["silence_id"] = transition.silence_id
        verb += f" (Alertmanager silence {transition.silence_id})"
    return TimelineEntry(
        alert_id=transition.alert_id,
        at=transition.at,
        kind=kind,
        message=verb,
        actor=transition.by,
        detail=detail,
    )
