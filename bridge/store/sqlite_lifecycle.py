"""SQLite statements for the alert lifecycle: pipeline results, user actions, the sweep.

Every function runs on a store worker thread; writers run inside the writer's transaction
(see :mod:`bridge.store.sqlite_worker`), so each call commits or rolls back as a whole.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from bridge.jsontext import dumps, loads
from bridge.store.base import StoredAlert
from bridge.store.pending import AlreadyProcessed, NotYetVisible
from bridge.store.records import (
    PER_ALERT_TABLES,
    PRUNABLE_STATUSES,
    TRANSITIONS,
    AlertDetail,
    AlertNotFound,
    AppliedWrite,
    ClassificationHistory,
    ComplianceAssessment,
    DuplicateLink,
    InvalidTransition,
    NewInstance,
    Occurrence,
    ProcessingWrite,
    PrunedHistory,
    ResolvedTiming,
    TimelineEntry,
    Transition,
    current_assessments,
    transition_entry,
)
from bridge.store.rows import COLUMNS_SQL
from bridge.store.sqlite_pending import mark_processed
from bridge.store.sqlite_sql import fetch_dicts, from_text, sqlite_alert, to_text

_SELECT_ALERT = f"SELECT {COLUMNS_SQL} FROM alert_instances WHERE id = ?"  # noqa: S608
_ACTIVE = "('open', 'acknowledged')"
_INSERT_TIMELINE = (
    "INSERT INTO alert_timeline (alert_id, at, kind, actor, message, detail) "
    "VALUES (?, ?, ?, ?, ?, ?)"
)
_INSERT_OCCURRENCE = (
    "INSERT INTO alert_occurrences (alert_id, am_status, starts_at, group_key, receiver, "
    "received_at) VALUES (?, ?, ?, ?, ?, ?)"
)
# One JSON array after another, in order.
_APPEND = """(SELECT json_group_array(json(value)) FROM (
    SELECT 0 AS part, key, value FROM json_each({stored})
    UNION ALL SELECT 1, key, value FROM json_each({new}) ORDER BY part, key))"""
_INSTANCE_COLUMNS = (
    "id", "fingerprint", "starts_at", "ends_at", "am_status", "status", "resolved_at",
    "resolved_by", "rule_id", "alertname", "title", "severity", "base_severity", "category",
    "business_impact", "urgency", "confidence", "reasons", "enrichment", "classified_at",
    "asset_id", "environment", "labels", "annotations", "generator_url", "created_at",
    "updated_at", "primary_id", "dedupe_score", "occurrence_count", "last_occurrence_at",
    "duplicates",
)  # fmt: skip
# An instance its receiver created before alert instances were written by the pipeline
# (migration 0011) and that was never classified: the pipeline completes it.
_CREATE = f"""
INSERT INTO alert_instances ({", ".join(_INSTANCE_COLUMNS)})
VALUES ({", ".join("?" for _ in _INSTANCE_COLUMNS)})
ON CONFLICT (id) DO UPDATE
    SET severity = excluded.severity, base_severity = excluded.base_severity,
        category = excluded.category, business_impact = excluded.business_impact,
        urgency = excluded.urgency, confidence = excluded.confidence,
        reasons = excluded.reasons, enrichment = excluded.enrichment,
        classified_at = excluded.classified_at, primary_id = excluded.primary_id,
        dedupe_score = excluded.dedupe_score, updated_at = excluded.updated_at,
        occurrence_count = occurrence_count + excluded.occurrence_count - 1,
        last_occurrence_at = excluded.last_occurrence_at,
        duplicates = {_APPEND.format(stored="duplicates", new="excluded.duplicates")}
    WHERE classified_at IS NULL"""  # noqa: S608 - fixed column names
_STORED = (
    "SELECT id, am_status, status FROM alert_instances WHERE id IN (SELECT value FROM json_each(?))"
)
_MERGE = f"""
UPDATE alert_instances
SET occurrence_count = occurrence_count + ?,
    last_occurrence_at = max(coalesce(last_occurrence_at, ?2), ?2),
    updated_at = ?, duplicates = {_APPEND.format(stored="duplicates", new="?")}
WHERE id = ?"""  # noqa: S608 - a constant
# Alertmanager's resolution ends an active alert; one a user suppressed (or resolved) keeps
# its lifecycle state and only learns that Alertmanager is done with it.
_RESOLVE = f"""
UPDATE alert_instances
SET am_status = 'resolved', ends_at = ?, updated_at = ?,
    resolved_at = CASE WHEN status IN {_ACTIVE} THEN ? ELSE resolved_at END,
    resolved_by = CASE WHEN status IN {_ACTIVE} THEN 'alertmanager' ELSE resolved_by END,
    status = CASE WHEN status IN {_ACTIVE} THEN 'resolved' ELSE status END
WHERE id = ?"""  # noqa: S608 - a constant
_INSERT_EVENT = (
    "INSERT INTO security_events (source, event_type, severity, platform, asset_id, title, "
    "details, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)"
)
# Scheduling keeps an earlier time already set (a suppression ending early, a replay).
_SCHEDULE = """
INSERT INTO escalation_schedule (alert_id, next_at) VALUES (?, ?)
ON CONFLICT (alert_id) DO UPDATE SET next_at = min(next_at, excluded.next_at)"""
_UNSCHEDULE = "DELETE FROM escalation_schedule WHERE alert_id = ?"
# Alerts resolved per sweep: a backlog drains over a few sweeps, each well inside the timeout.
SWEEP_BATCH = 500
# Enough related alerts per rule or asset for each alert's list (the stage shows 20).
RELATED_PER_KEY = 25


def insert_timeline(connection: sqlite3.Connection, entries: Sequence[TimelineEntry]) -> None:
    connection.executemany(
        _INSERT_TIMELINE,
        [
            (e.alert_id, to_text(e.at), e.kind, e.actor, e.message, dumps(dict(e.detail)))
            for e in entries
        ],
    )


def _duplicates(links: Sequence[DuplicateLink]) -> str:
    return dumps(
        [
            {
                "alert_id": link.alert_id,
                "timestamp": to_text(link.at),
                "source": link.source,
                "score": link.score,
                "exact": link.exact,
            }
            for link in links
        ]
    )


def _row(i: NewInstance) -> tuple[Any, ...]:
    return (
        i.id, i.fingerprint, to_text(i.starts_at), to_text(i.ends_at), i.am_status, i.status,
        to_text(i.resolved_at), i.resolved_by, i.rule_id, i.alertname, i.title, i.severity,
        i.base_severity, i.category, i.business_impact, i.urgency, i.confidence,
        dumps(list(i.reasons)), dumps(dict(i.enrichment)), to_text(i.classified_at),
        i.asset_id, i.environment, dumps(dict(i.labels)), dumps(dict(i.annotations)),
        i.generator_url, to_text(i.created_at), to_text(i.updated_at), i.primary_id,
        i.dedupe_score, i.occurrence_count, to_text(i.last_occurrence_at),
        _duplicates(i.duplicates),
    )  # fmt: skip


def apply_processing(connection: sqlite3.Connection, write: ProcessingWrite) -> AppliedWrite:
    """The pass's write; an exception rolls back everything it did (the writer thread runs
    each job in a savepoint)."""
    marked = mark_processed(connection, write.processed)
    if marked != len(write.processed):
        raise AlreadyProcessed("receipts already processed by another worker")
    stored = {
        row[0]: (row[1], row[2])
        for row in connection.execute(_STORED, (dumps([u.id for u in write.updates]),))
    }
    if len(stored) != len({u.id for u in write.updates}):
        raise NotYetVisible("instance not yet created")
    # In pass order: a duplicate's primary created in the same pass comes before it.
    before = connection.total_changes
    connection.executemany(_CREATE, [_row(i) for i in write.instances])
    if connection.total_changes - before != len(write.instances):
        raise AlreadyProcessed("receipts already processed by another worker")
    resolved_now: list[tuple[int, datetime]] = []
    for update in sorted(write.updates, key=lambda u: u.id):
        at = to_text(update.at)
        if update.merged:
            last = to_text(max(link.at for link in update.merged))
            connection.execute(
                _MERGE, (len(update.merged), last, at, _duplicates(update.merged), update.id)
            )
        if update.resolve is not None and stored[update.id][0] != "resolved":
            ends_at, resolved_at = update.resolve
            connection.execute(_RESOLVE, (to_text(ends_at), at, to_text(resolved_at), update.id))
            resolved_now.append((update.id, update.at))
    connection.executemany(
        _INSERT_OCCURRENCE,
        [
            (o.alert_id, o.am_status, to_text(o.starts_at), o.group_key, o.receiver,
             to_text(o.received_at))
            for o in write.occurrences
        ],
    )  # fmt: skip
    insert_timeline(
        connection,
        [
            *write.timeline,
            *(TimelineEntry(alert_id, at, "resolved", "resolved by Alertmanager", "alertmanager")
              for alert_id, at in resolved_now),
        ],
    )  # fmt: skip
    connection.executemany(
        _INSERT_EVENT,
        [
            (e.source, e.event_type, e.severity, e.platform, e.asset_id, e.title,
             dumps(dict(e.details)), to_text(e.created_at))
            for e in write.events
        ],
    )  # fmt: skip
    connection.executemany(_SCHEDULE, [(alert_id, to_text(at)) for alert_id, at in write.scheduled])
    connection.executemany(_UNSCHEDULE, [(alert_id,) for alert_id, _ in resolved_now])
    if write.compliance:
        _assess(connection, current_assessments(write.compliance))
    resolved = [i.id for i in write.instances if i.am_status == "resolved"]
    resolved += [alert_id for alert_id, _ in resolved_now]
    timings = []
    for alert_id in sorted(resolved):
        row = connection.execute(
            "SELECT severity, created_at, resolved_at FROM alert_instances "
            "WHERE id = ? AND status = 'resolved' AND resolved_by = 'alertmanager'",
            (alert_id,),
        ).fetchone()
        if row is not None:
            seconds = (_time(row[2]) - _time(row[1])).total_seconds()
            timings.append(ResolvedTiming(alert_id, row[0], max(0.0, seconds)))
    return AppliedWrite(resolved=frozenset(resolved), timings=tuple(timings))


_ASSESS = """
INSERT INTO compliance_assessments (control_id, asset_id, status, evidence, assessed_at, source)
SELECT cc.id, ?, ?, ?, ?, 'secmon'
FROM compliance_controls cc JOIN compliance_frameworks f ON f.id = cc.framework_id
WHERE f.name = ? AND cc.control_ref = ?
ON CONFLICT (control_id, asset_id) WHERE source = 'secmon'
DO UPDATE SET status = excluded.status, evidence = excluded.evidence,
              assessed_at = excluded.assessed_at
WHERE assessed_at <= excluded.assessed_at"""


def _assess(connection: sqlite3.Connection, rows: Sequence[ComplianceAssessment]) -> None:
    """Frameworks and controls on first use, then one current row per (control, asset);
    a recovered (older) delivery never overwrites a newer assessment."""
    connection.executemany(
        "INSERT OR IGNORE INTO compliance_frameworks (name) VALUES (?)",
        [(name,) for name in sorted({a.framework for a in rows})],
    )
    controls = {(a.framework, a.control_ref): a.control_title for a in rows}
    connection.executemany(
        "INSERT OR IGNORE INTO compliance_controls (framework_id, control_ref, title) "
        "SELECT id, ?, ? FROM compliance_frameworks WHERE name = ?",
        [(ref, title, framework) for (framework, ref), title in sorted(controls.items())],
    )
    connection.executemany(
        _ASSESS,
        [
            (a.asset_id, a.status, dumps(dict(a.evidence)), to_text(a.assessed_at),
             a.framework, a.control_ref)
            for a in rows
        ],
    )  # fmt: skip


def get_alert(connection: sqlite3.Connection, alert_id: int) -> AlertDetail | None:
    rows = fetch_dicts(connection, _SELECT_ALERT, (alert_id,))
    if not rows:
        return None
    occurrences = [
        Occurrence(
            alert_id=alert_id,
            am_status=row["am_status"],
            starts_at=_time(row["starts_at"]),
            group_key=row["group_key"],
            receiver=row["receiver"],
            received_at=_time(row["received_at"]),
        )
        for row in fetch_dicts(
            connection,
            "SELECT am_status, starts_at, group_key, receiver, received_at "
            "FROM alert_occurrences WHERE alert_id = ? ORDER BY id",
            (alert_id,),
        )
    ]
    timeline = [
        TimelineEntry(
            alert_id=alert_id,
            at=_time(row["at"]),
            kind=row["kind"],
            message=row["message"],
            actor=row["actor"],
            detail=loads(row["detail"]),
        )
        for row in fetch_dicts(
            connection,
            "SELECT at, kind, actor, message, detail FROM alert_timeline "
            "WHERE alert_id = ? ORDER BY id",
            (alert_id,),
        )
    ]
    return AlertDetail(sqlite_alert(rows[0]), occurrences, timeline)


def _time(value: str) -> datetime:
    decoded = from_text(value)
    assert decoded is not None
    return decoded


def transition(connection: sqlite3.Connection, change: Transition) -> StoredAlert:
    allowed, target = TRANSITIONS[change.action]
    found = connection.execute(
        "SELECT status FROM alert_instances WHERE id = ?", (change.alert_id,)
    ).fetchone()
    if found is None:
        raise AlertNotFound(change.alert_id)
    if found[0] not in allowed:
        raise InvalidTransition(change.alert_id, change.action, found[0])
    at = to_text(change.at)
    if change.action == "acknowledge":
        sets, params = "acknowledged_at = ?, acknowledged_by = ?", [at, change.by]
    elif change.action == "suppress":
        sets = "suppressed_at = ?, suppressed_by = ?, suppressed_until = ?, silence_id = ?"
        params = [at, change.by, to_text(change.until), change.silence_id]
    elif change.action == "unsuppress":
        sets, params = "suppressed_until = NULL", []
    else:
        sets, params = "resolved_at = ?, resolved_by = ?", [at, change.by]
    connection.execute(
        f"UPDATE alert_instances SET status = ?, updated_at = ?, {sets} WHERE id = ?",  # noqa: S608
        (target, at, *params, change.alert_id),
    )
    insert_timeline(connection, [transition_entry(change, target)])
    if target == "open":  # a suppression ended: escalation picks up where it was
        connection.execute(_SCHEDULE, (change.alert_id, at))
    else:  # only open alerts escalate
        connection.execute(_UNSCHEDULE, (change.alert_id,))
    return sqlite_alert(fetch_dicts(connection, _SELECT_ALERT, (change.alert_id,))[0])


def expire_stale(
    connection: sqlite3.Connection, cutoff: datetime, now: datetime
) -> list[StoredAlert]:
    limit = to_text(cutoff)
    stale = connection.execute(
        f"""
        SELECT a.id FROM alert_instances a
        JOIN alert_receipts r ON r.fingerprint = a.fingerprint AND r.starts_at = a.starts_at
                             AND r.status = 'firing'
        JOIN webhook_payloads p ON p.id = r.payload_id
        WHERE a.am_status = 'firing' AND a.status IN {_ACTIVE} AND r.last_received_at < ?
          AND NOT EXISTS (SELECT 1 FROM webhook_payloads t
                          WHERE t.group_key = p.group_key AND t.truncated_alerts > 0
                            AND t.last_received_at >= ?)
        ORDER BY a.id LIMIT ?
        """,  # noqa: S608 - a constant
        (limit, limit, SWEEP_BATCH),
    ).fetchall()
    expired = []
    for (alert_id,) in stale:
        change = Transition(alert_id=alert_id, action="expire", by="expiry", at=now)
        expired.append(transition(connection, change))
    return expired


def end_suppressions(connection: sqlite3.Connection, now: datetime) -> list[StoredAlert]:
    due = connection.execute(
        "SELECT id FROM alert_instances WHERE status = 'suppressed' AND am_status = 'firing' "
        "AND suppressed_until IS NOT NULL AND suppressed_until <= ? ORDER BY id",
        (to_text(now),),
    ).fetchall()
    change = [Transition(alert_id, "unsuppress", "expiry", now) for (alert_id,) in due]
    return [transition(connection, c) for c in change]


_HISTORY_COUNTS = """
SELECT coalesce(sum(created_at >= ?), 0), count(*) FROM alert_instances
WHERE rule_id IS ? AND asset_id IS ? AND created_at >= ?"""


def classification_history(
    connection: sqlite3.Connection,
    pairs: Sequence[tuple[str | None, str | None]],
    now: datetime,
) -> ClassificationHistory:
    week, month = to_text(now - timedelta(days=7)), to_text(now - timedelta(days=30))
    counts: dict[tuple[str | None, str | None], tuple[int, int]] = {}
    for rule_id, asset_id in set(pairs):
        # Counted by SQLite over the history index, however long the month's history is.
        last_week, last_month = connection.execute(
            _HISTORY_COUNTS, (week, rule_id, asset_id, month)
        ).fetchone()
        counts[(rule_id, asset_id)] = (last_week, last_month)
    related: dict[int, tuple[int, str | None, str | None]] = {}
    for column, values in (
        ("rule_id", {rule for rule, _ in pairs if rule is not None}),
        ("asset_id", {asset for _, asset in pairs if asset is not None}),
    ):
        for value in sorted(values):
            # Newest active alerts per rule and per asset, through the partial indexes.
            for row in connection.execute(
                f"SELECT id, rule_id, asset_id FROM alert_instances "  # noqa: S608
                f"WHERE {column} = ? AND status IN {_ACTIVE} ORDER BY id DESC LIMIT ?",
                (value, RELATED_PER_KEY),
            ):
                related[row[0]] = (row[0], row[1], row[2])
    open_alerts = sorted(related.values(), key=lambda item: -item[0])
    return ClassificationHistory(counts=counts, open_alerts=open_alerts)


def open_counts(connection: sqlite3.Connection) -> dict[str, int]:
    rows = connection.execute(
        "SELECT coalesce(severity, 'unknown'), count(*) FROM alert_instances "
        "WHERE status = 'open' GROUP BY 1"
    ).fetchall()
    return {severity: count for severity, count in rows}


# A body with pending receipts stays: the recovery sweep rebuilds their alerts from it.
_PRUNE_BODIES = """
UPDATE webhook_payloads SET payload = '{}'
WHERE id IN (SELECT id FROM webhook_payloads
             WHERE received_at < ? AND payload <> '{}'
               AND id NOT IN (SELECT payload_id FROM pending_receipts)
             ORDER BY received_at LIMIT ?)
"""


def prune_payload_bodies(
    connection: sqlite3.Connection, received_before: datetime, limit: int
) -> int:
    return connection.execute(_PRUNE_BODIES, (to_text(received_before), limit)).rowcount


def _prunable(alias: str) -> str:
    """The same test as PostgreSQL's (bridge.store.postgres_lifecycle); ? is the cutoff, three
    times."""
    statuses = ", ".join(f"'{status}'" for status in PRUNABLE_STATUSES)
    return f"""
    {alias}.created_at < ? AND {alias}.updated_at < ? AND {alias}.status IN ({statuses})
    AND NOT EXISTS (SELECT 1 FROM alert_receipts r
                    WHERE r.fingerprint = {alias}.fingerprint AND r.starts_at = {alias}.starts_at
                      AND r.last_received_at >= ?)
    AND NOT EXISTS (SELECT 1 FROM pending_receipts p WHERE p.fingerprint = {alias}.fingerprint
                                                     AND p.starts_at = {alias}.starts_at)"""  # noqa: S608


# The oldest prunable alerts whose duplicates are all prunable too; each goes with them.
_CANDIDATES = f"""
SELECT a.id FROM alert_instances a
WHERE {_prunable("a")}
  AND NOT EXISTS (SELECT 1 FROM alert_instances d
                  WHERE d.primary_id = a.id AND NOT ({_prunable("d")}))
ORDER BY a.created_at LIMIT ?
"""  # noqa: S608  # only fixed fragments are interpolated
_WITH_DUPLICATES = """
SELECT value FROM json_each(?1)
UNION
SELECT id FROM alert_instances WHERE primary_id IN (SELECT value FROM json_each(?1))
"""
# Children first: SQLite checks each foreign key as its statement ends.
_PRUNE_CHILDREN = tuple(
    f"DELETE FROM {table} WHERE alert_id IN (SELECT value FROM json_each(?))"  # noqa: S608
    for table in PER_ALERT_TABLES
)
_PRUNE_RECEIPTS = """
DELETE FROM alert_receipts
WHERE (fingerprint, starts_at) IN (SELECT fingerprint, starts_at FROM alert_instances
                                   WHERE id IN (SELECT value FROM json_each(?)))
"""
_PRUNE_ALERTS = "DELETE FROM alert_instances WHERE id IN (SELECT value FROM json_each(?))"
_PRUNE_EVENTS = """
DELETE FROM security_events
WHERE id IN (SELECT id FROM security_events WHERE created_at < ? ORDER BY created_at LIMIT ?)
"""
# Few rows (deliveries that failed for good); their created_at is epoch seconds.
_PRUNE_DEAD_LETTERS = "DELETE FROM dead_letters WHERE created_at < ?"


def prune_history(connection: sqlite3.Connection, before: datetime, limit: int) -> PrunedHistory:
    cutoff = to_text(before)
    candidates = [
        row[0] for row in connection.execute(_CANDIDATES, (cutoff,) * 6 + (limit,)).fetchall()
    ]
    alerts = 0
    if candidates:
        ids = dumps([row[0] for row in connection.execute(_WITH_DUPLICATES, (dumps(candidates),))])
        for statement in (*_PRUNE_CHILDREN, _PRUNE_RECEIPTS, _PRUNE_ALERTS):
            alerts = connection.execute(statement, (ids,)).rowcount
    events = connection.execute(_PRUNE_EVENTS, (cutoff, limit)).rowcount
    dead_letters = connection.execute(_PRUNE_DEAD_LETTERS, (before.timestamp(),)).rowcount
    return PrunedHistory(
        alerts=alerts,
        events=events,
        more=len(candidates) == limit or events == limit,
        dead_letters=dead_letters,
    )
