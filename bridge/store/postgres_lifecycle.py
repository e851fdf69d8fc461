"""PostgreSQL statements for the alert lifecycle: pipeline results, user actions, the sweep.

The pipeline's write for one delivery goes as set-wise statements over ``unnest``ed arrays in
one transaction, so its cost barely grows with the number of alerts in the delivery.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

import asyncpg

from bridge.jsontext import dumps
from bridge.store.base import StoredAlert
from bridge.store.pending import AlreadyProcessed
from bridge.store.postgres_rows import stored_alert
from bridge.store.records import (
    PER_ALERT_TABLES,
    PRUNABLE_STATUSES,
    TRANSITIONS,
    AlertDetail,
    AlertNotFound,
    ClassificationHistory,
    ComplianceAssessment,
    InvalidTransition,
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

SELECT_ALERT = f"SELECT {COLUMNS_SQL} FROM alert_instances WHERE id = $1"  # noqa: S608
_ACTIVE = "('open', 'acknowledged')"

# Classification, occurrences and timeline touch different rows: one statement for all three.
# Data-modifying CTEs always run; the final SELECT turns off the wait for the WAL flush for
# this transaction only (see apply_processing).
_APPLY = """
WITH processed AS (
    DELETE FROM pending_receipts r
    USING unnest($23::text[], $24::timestamptz[], $25::text[]) AS k (fingerprint, starts_at, status)
    WHERE r.fingerprint = k.fingerprint AND r.starts_at = k.starts_at AND r.status = k.status
    RETURNING 1
), classified AS (
    UPDATE alert_instances a
    SET severity = u.severity, base_severity = u.base_severity, category = u.category,
        business_impact = u.business_impact, urgency = u.urgency, confidence = u.confidence,
        reasons = u.reasons::jsonb, enrichment = u.enrichment::jsonb, classified_at = u.at,
        updated_at = u.at
    FROM unnest($1::bigint[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[],
                $7::float8[], $8::text[], $9::text[], $10::timestamptz[])
         AS u (id, severity, base_severity, category, business_impact, urgency, confidence,
               reasons, enrichment, at)
    WHERE a.id = u.id
    RETURNING a.id
), occurrences AS (
    INSERT INTO alert_occurrences (alert_id, am_status, starts_at, group_key, receiver,
                                   received_at)
    SELECT * FROM unnest($11::bigint[], $12::text[], $13::timestamptz[], $14::text[],
                         $15::text[], $16::timestamptz[])
    RETURNING id
), timeline AS (
    INSERT INTO alert_timeline (alert_id, at, kind, actor, message, detail)
    SELECT t.alert_id, t.at, t.kind, t.actor, t.message, t.detail::jsonb
    FROM unnest($17::bigint[], $18::timestamptz[], $19::text[], $20::text[], $21::text[],
                $22::text[]) AS t (alert_id, at, kind, actor, message, detail)
    RETURNING id
), events AS (
    INSERT INTO security_events (source, event_type, severity, platform, asset_id, title,
                                 details, created_at)
    SELECT e.source, e.event_type, e.severity, e.platform, e.asset_id, e.title,
           e.details::jsonb, e.created_at
    FROM unnest($27::text[], $28::text[], $29::text[], $30::text[], $31::text[], $32::text[],
                $33::text[], $34::timestamptz[])
         AS e (source, event_type, severity, platform, asset_id, title, details, created_at)
    RETURNING 1
), scheduled AS (
    INSERT INTO escalation_schedule (alert_id, next_at)
    SELECT * FROM unnest($35::bigint[], $36::timestamptz[])
    ON CONFLICT (alert_id) DO NOTHING
), unscheduled AS (
    DELETE FROM escalation_schedule WHERE alert_id = ANY($37::bigint[])
)
SELECT set_config('synchronous_commit', 'off', true),
       -- Division by zero aborts the whole write when another worker marked a receipt first.
       1 / ((SELECT count(*) FROM processed) = $26)::int AS ok
"""

_LINK_DUPLICATES = """
UPDATE alert_instances a SET primary_id = u.primary_id, dedupe_score = u.score
FROM unnest($1::bigint[], $2::bigint[], $3::float8[]) AS u (id, primary_id, score)
WHERE a.id = u.id
"""

_MERGE_INTO_PRIMARIES = """
UPDATE alert_instances a
SET occurrence_count = a.occurrence_count + u.n,
    last_occurrence_at = greatest(a.last_occurrence_at, u.at), updated_at = u.at,
    duplicates = a.duplicates || u.merged::jsonb
FROM unnest($1::bigint[], $2::int[], $3::timestamptz[], $4::text[]) AS u (id, n, at, merged)
WHERE a.id = u.id
"""


_REOPEN = """
INSERT INTO escalation_schedule (alert_id, next_at) VALUES ($1, $2)
ON CONFLICT (alert_id) DO UPDATE SET next_at = least(escalation_schedule.next_at, $2)
"""


def _apply_arguments(write: ProcessingWrite) -> list[Any]:
    c, o, t, e = write.classifications, write.occurrences, write.timeline, write.events
    s = sorted(write.scheduled)
    p = sorted(write.processed)  # a stable lock order against a concurrent worker
    return [
        [x.alert_id for x in c], [x.severity for x in c], [x.base_severity for x in c],
        [x.category for x in c], [x.business_impact for x in c], [x.urgency for x in c],
        [x.confidence for x in c], [dumps(list(x.reasons)) for x in c],
        [dumps(dict(x.enrichment)) for x in c], [x.at for x in c],
        [x.alert_id for x in o], [x.am_status for x in o], [x.starts_at for x in o],
        [x.group_key for x in o], [x.receiver for x in o], [x.received_at for x in o],
        [x.alert_id for x in t], [x.at for x in t], [x.kind for x in t], [x.actor for x in t],
        [x.message for x in t], [dumps(dict(x.detail)) for x in t],
        [k[0] for k in p], [k[1] for k in p], [k[2] for k in p], len(p),
        [x.source for x in e], [x.event_type for x in e], [x.severity for x in e],
        [x.platform for x in e], [x.asset_id for x in e], [x.title for x in e],
        [dumps(dict(x.details)) for x in e], [x.created_at for x in e],
        [x[0] for x in s], [x[1] for x in s], sorted(write.resolved_ids),
    ]  # fmt: skip


async def apply_processing(connection: Any, write: ProcessingWrite) -> list[ResolvedTiming]:
    # Everything here derives from receipts already committed durably by record_delivery,
    # so this transaction skips waiting for its WAL flush: a crash can lose the last moment's
    # classifications and timeline lines, never an alert. It halves the webhook's latency.
    try:
        return await _apply(connection, write)
    except asyncpg.exceptions.DivisionByZeroError:
        raise AlreadyProcessed("receipts already processed by another worker") from None


async def _apply(connection: Any, write: ProcessingWrite) -> list[ResolvedTiming]:
    if not (write.duplicates or write.resolved_ids or write.compliance):
        # One statement is its own transaction: one round trip on the hot path.
        await connection.execute(_APPLY, *_apply_arguments(write))
        return []
    async with connection.transaction():
        await connection.execute(_APPLY, *_apply_arguments(write))
        if write.duplicates:
            await _merge_duplicates(connection, write)
        if write.compliance:
            await _assess(connection, current_assessments(write.compliance))
        if not write.resolved_ids:
            return []
        rows = await connection.fetch(
            "SELECT id, severity, extract(epoch FROM resolved_at - created_at) AS seconds "
            "FROM alert_instances WHERE id = ANY($1::bigint[]) AND status = 'resolved' "
            "AND resolved_by = 'alertmanager'",
            list(write.resolved_ids),
        )
    return [ResolvedTiming(r["id"], r["severity"], max(0.0, float(r["seconds"]))) for r in rows]


async def _merge_duplicates(connection: Any, write: ProcessingWrite) -> None:
    links = sorted(write.duplicates, key=lambda link: link.alert_id)
    await connection.execute(
        _LINK_DUPLICATES,
        [x.alert_id for x in links],
        [x.primary_id for x in links],
        [x.score for x in links],
    )
    merged: dict[int, list[dict[str, Any]]] = defaultdict(list)
    latest: dict[int, datetime] = {}
    for link in links:
        merged[link.primary_id].append(
            {
                "alert_id": link.alert_id,
                "timestamp": link.at.isoformat(),
                "source": link.source,
                "score": link.score,
                "exact": link.exact,
            }
        )
        latest[link.primary_id] = max(link.at, latest.get(link.primary_id, link.at))
    primaries = sorted(merged)  # a stable lock order against concurrent deliveries
    await connection.execute(
        _MERGE_INTO_PRIMARIES,
        primaries,
        [len(merged[p]) for p in primaries],
        [latest[p] for p in primaries],
        [dumps(merged[p]) for p in primaries],
    )


_FRAMEWORKS = """
INSERT INTO compliance_frameworks (name) SELECT unnest($1::text[]) ON CONFLICT (name) DO NOTHING
"""
_CONTROLS = """
INSERT INTO compliance_controls (framework_id, control_ref, title)
SELECT f.id, c.ref, c.title
FROM unnest($1::text[], $2::text[], $3::text[]) AS c (framework, ref, title)
JOIN compliance_frameworks f ON f.name = c.framework
ON CONFLICT (framework_id, control_ref) DO NOTHING
"""
# A recovered (older) delivery never overwrites a newer assessment.
_ASSESS = """
INSERT INTO compliance_assessments (control_id, asset_id, status, evidence, assessed_at, source)
SELECT cc.id, a.asset_id, a.status, a.evidence::jsonb, a.at, 'secmon'
FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::timestamptz[])
     AS a (framework, ref, asset_id, status, evidence, at)
JOIN compliance_frameworks f ON f.name = a.framework
JOIN compliance_controls cc ON cc.framework_id = f.id AND cc.control_ref = a.ref
ON CONFLICT (control_id, asset_id) WHERE source = 'secmon'
DO UPDATE SET status = EXCLUDED.status, evidence = EXCLUDED.evidence,
              assessed_at = EXCLUDED.assessed_at
WHERE compliance_assessments.assessed_at <= EXCLUDED.assessed_at
"""


async def _assess(connection: Any, rows: Sequence[ComplianceAssessment]) -> None:
    await connection.execute(_FRAMEWORKS, sorted({a.framework for a in rows}))
    controls = {(a.framework, a.control_ref): a.control_title for a in rows}
    keys = sorted(controls)
    await connection.execute(
        _CONTROLS, [k[0] for k in keys], [k[1] for k in keys], [controls[k] for k in keys]
    )
    await connection.execute(
        _ASSESS,
        [a.framework for a in rows],
        [a.control_ref for a in rows],
        [a.asset_id for a in rows],
        [a.status for a in rows],
        [dumps(dict(a.evidence)) for a in rows],
        [a.assessed_at for a in rows],
    )


async def get_alert(connection: Any, alert_id: int) -> AlertDetail | None:
    row = await connection.fetchrow(SELECT_ALERT, alert_id)
    if row is None:
        return None
    occurrences = [
        Occurrence(alert_id=alert_id, **dict(r))
        for r in await connection.fetch(
            "SELECT am_status, starts_at, group_key, receiver, received_at "
            "FROM alert_occurrences WHERE alert_id = $1 ORDER BY id",
            alert_id,
        )
    ]
    timeline = [
        TimelineEntry(alert_id=alert_id, **dict(r))
        for r in await connection.fetch(
            "SELECT at, kind, actor, message, detail FROM alert_timeline "
            "WHERE alert_id = $1 ORDER BY id",
            alert_id,
        )
    ]
    return AlertDetail(stored_alert(row), occurrences, timeline)


async def insert_timeline(connection: Any, entry: TimelineEntry) -> None:
    await connection.execute(
        "INSERT INTO alert_timeline (alert_id, at, kind, actor, message, detail) "
        "VALUES ($1, $2, $3, $4, $5, $6::text::jsonb)",
        entry.alert_id,
        entry.at,
        entry.kind,
        entry.actor,
        entry.message,
        dumps(dict(entry.detail)),
    )


async def transition(connection: Any, change: Transition) -> StoredAlert:
    allowed, target = TRANSITIONS[change.action]
    async with connection.transaction():
        status = await connection.fetchval(
            "SELECT status FROM alert_instances WHERE id = $1 FOR UPDATE", change.alert_id
        )
        if status is None:
            raise AlertNotFound(change.alert_id)
        if status not in allowed:
            raise InvalidTransition(change.alert_id, change.action, status)
        if change.action == "acknowledge":
            sets, params = "acknowledged_at = $3, acknowledged_by = $4", [change.at, change.by]
        elif change.action == "suppress":
            sets = "suppressed_at = $3, suppressed_by = $4, suppressed_until = $5, silence_id = $6"
            params = [change.at, change.by, change.until, change.silence_id]
        elif change.action == "unsuppress":
            # $3 is still the time (updated_at), so the numbering holds.
            sets, params = "suppressed_until = NULL", [change.at]
        else:
            sets, params = "resolved_at = $3, resolved_by = $4", [change.at, change.by]
        row = await connection.fetchrow(
            f"UPDATE alert_instances SET status = $2, updated_at = $3, {sets} "  # noqa: S608
            f"WHERE id = $1 RETURNING {COLUMNS_SQL}",
            change.alert_id,
            target,
            *params,
        )
        await insert_timeline(connection, transition_entry(change, target))
        if target == "open":  # a suppression ended: escalation picks up where it was
            await connection.execute(_REOPEN, change.alert_id, change.at)
        else:  # only open alerts escalate
            await connection.execute(
                "DELETE FROM escalation_schedule WHERE alert_id = $1", change.alert_id
            )
    return stored_alert(row)


# Alerts resolved per sweep: a backlog (a bridge down for days) drains over a few sweeps
# instead of one transaction that outlives the store timeout.
SWEEP_BATCH = 500

_STALE = f"""
SELECT a.id FROM alert_instances a
JOIN alert_receipts r ON r.fingerprint = a.fingerprint AND r.starts_at = a.starts_at
                     AND r.status = 'firing'
JOIN webhook_payloads p ON p.id = r.payload_id
WHERE a.am_status = 'firing' AND a.status IN {_ACTIVE} AND r.last_received_at < $1
  AND NOT EXISTS (SELECT 1 FROM webhook_payloads t
                  WHERE t.group_key = p.group_key AND t.truncated_alerts > 0
                    AND t.last_received_at >= $1)
ORDER BY a.id
LIMIT {SWEEP_BATCH}
"""  # noqa: S608 - a constant


async def expire_stale(connection: Any, cutoff: datetime, now: datetime) -> list[StoredAlert]:
    expired = []
    for row in await connection.fetch(_STALE, cutoff):
        change = Transition(alert_id=row["id"], action="expire", by="expiry", at=now)
        try:
            expired.append(await transition(connection, change))
        except InvalidTransition:
            continue  # a user or Alertmanager got there first
    return expired


async def end_suppressions(connection: Any, now: datetime) -> list[StoredAlert]:
    rows = await connection.fetch(
        "SELECT id FROM alert_instances WHERE status = 'suppressed' AND am_status = 'firing' "
        "AND suppressed_until <= $1 ORDER BY id",
        now,
    )
    reopened = []
    for row in rows:
        try:
            change = Transition(alert_id=row["id"], action="unsuppress", by="expiry", at=now)
            reopened.append(await transition(connection, change))
        except InvalidTransition:
            continue  # changed meanwhile
    return reopened


# History counts and related open alerts in one round trip (the webhook hot path): rows of
# kind 'count' carry (rule, asset, week, month), rows of kind 'open' an active alert's id.
# Related alerts are bounded per rule and per asset, newest first, through partial indexes.
_HISTORY = f"""
SELECT 'count' AS kind, a.rule_id, a.asset_id,
       count(*) FILTER (WHERE a.created_at >= $3) AS week, count(*) AS month, NULL::bigint AS id
FROM alert_instances a
JOIN unnest($1::text[], $2::text[]) AS k (rule_id, asset_id)
  ON a.rule_id = k.rule_id AND a.asset_id = k.asset_id
WHERE a.created_at >= $4 AND a.id <> ALL($5::bigint[])
GROUP BY a.rule_id, a.asset_id
UNION ALL
SELECT 'open', x.rule_id, x.asset_id, NULL, NULL, x.id
FROM unnest($6::text[]) AS r (rule_id)
CROSS JOIN LATERAL (SELECT id, rule_id, asset_id FROM alert_instances
                    WHERE rule_id = r.rule_id AND status IN {_ACTIVE}
                    ORDER BY id DESC LIMIT $8) x
UNION ALL
SELECT 'open', x.rule_id, x.asset_id, NULL, NULL, x.id
FROM unnest($7::text[]) AS s (asset_id)
CROSS JOIN LATERAL (SELECT id, rule_id, asset_id FROM alert_instances
                    WHERE asset_id = s.asset_id AND status IN {_ACTIVE}
                    ORDER BY id DESC LIMIT $8) x
"""  # noqa: S608 - a constant

# Enough related alerts per rule or asset for each alert's list (the stage shows 20).
RELATED_PER_KEY = 25


async def classification_history(
    connection: Any,
    pairs: Sequence[tuple[str | None, str | None]],
    exclude_ids: Sequence[int],
    now: datetime,
) -> ClassificationHistory:
    keys = sorted({(r, a) for r, a in pairs if r is not None and a is not None})
    rows = await connection.fetch(
        _HISTORY,
        [k[0] for k in keys],
        [k[1] for k in keys],
        now - timedelta(days=7),
        now - timedelta(days=30),
        list(exclude_ids),
        sorted({r for r, _ in pairs if r is not None}),
        sorted({a for _, a in pairs if a is not None}),
        RELATED_PER_KEY,
    )
    counts: dict[tuple[str | None, str | None], tuple[int, int]] = {pair: (0, 0) for pair in pairs}
    related: dict[int, tuple[int, str | None, str | None]] = {}
    for row in rows:
        if row["kind"] == "count":
            counts[(row["rule_id"], row["asset_id"])] = (row["week"], row["month"])
        else:
            related[row["id"]] = (row["id"], row["rule_id"], row["asset_id"])
    open_alerts = sorted(related.values(), key=lambda item: -item[0])
    return ClassificationHistory(counts=counts, open_alerts=open_alerts)


async def open_counts(connection: Any) -> dict[str, int]:
    rows = await connection.fetch(
        "SELECT coalesce(severity, 'unknown') AS severity, count(*) AS n "
        "FROM alert_instances WHERE status = 'open' GROUP BY 1"
    )
    return {row["severity"]: row["n"] for row in rows}


_PRUNE_BODIES = """
UPDATE webhook_payloads SET payload = '{}'::jsonb
WHERE id IN (SELECT id FROM webhook_payloads
             WHERE received_at < $1 AND payload <> '{}'::jsonb
             ORDER BY received_at LIMIT $2)
"""


async def prune_payload_bodies(connection: Any, received_before: datetime, limit: int) -> int:
    status: str = await connection.execute(_PRUNE_BODIES, received_before, limit)
    return int(status.rsplit(" ", 1)[-1])  # "UPDATE n"


def _prunable(alias: str) -> str:
    """``alias`` is finished, nobody touched it and Alertmanager did not re-send it since the
    cutoff ($1), and no pipeline work is pending for it. $3: the prunable statuses."""
    return f"""
    {alias}.created_at < $1 AND {alias}.updated_at < $1 AND {alias}.status = ANY($3::text[])
    AND NOT EXISTS (SELECT 1 FROM alert_receipts r
                    WHERE r.fingerprint = {alias}.fingerprint AND r.starts_at = {alias}.starts_at
                      AND r.last_received_at >= $1)
    AND NOT EXISTS (SELECT 1 FROM pending_receipts p WHERE p.fingerprint = {alias}.fingerprint
                                                     AND p.starts_at = {alias}.starts_at)"""  # noqa: S608


_CHILDREN_GONE = "".join(
    f"), {table}_gone AS (DELETE FROM {table} WHERE alert_id IN (SELECT id FROM gone)\n"  # noqa: S608
    for table in PER_ALERT_TABLES
)
# One statement: the oldest prunable alerts whose duplicates are all prunable too, each with
# those duplicates (a link never dangles), then every row naming them. The final DELETE checks
# status and age again, so an alert changed since the statement's snapshot (a suppression that
# ended) stays; foreign keys are checked at the end of the statement, children deleted by then.
_PRUNE_ALERTS = f"""
WITH candidates AS (
    SELECT a.id FROM alert_instances a
    WHERE {_prunable("a")}
      AND NOT EXISTS (SELECT 1 FROM alert_instances d
                      WHERE d.primary_id = a.id AND NOT ({_prunable("d")}))
    ORDER BY a.created_at LIMIT $2
), chosen AS (
    SELECT id FROM candidates
    UNION
    SELECT d.id FROM alert_instances d JOIN candidates c ON d.primary_id = c.id
), gone AS (
    DELETE FROM alert_instances a USING chosen
    WHERE a.id = chosen.id AND a.status = ANY($3::text[]) AND a.updated_at < $1
    RETURNING a.id, a.fingerprint, a.starts_at
{_CHILDREN_GONE}), receipts_gone AS (
    DELETE FROM alert_receipts r USING gone g
    WHERE r.fingerprint = g.fingerprint AND r.starts_at = g.starts_at
)
SELECT (SELECT count(*) FROM gone) AS alerts, (SELECT count(*) FROM candidates) AS examined
"""  # noqa: S608  # only fixed fragments are interpolated
_PRUNE_EVENTS = """
DELETE FROM security_events
WHERE id IN (SELECT id FROM security_events WHERE created_at < $1
             ORDER BY created_at LIMIT $2 FOR UPDATE SKIP LOCKED)
"""
# Few rows (deliveries that failed for good); their created_at is epoch seconds.
_PRUNE_DEAD_LETTERS = "DELETE FROM dead_letters WHERE created_at < $1"


async def prune_history(connection: Any, before: datetime, limit: int) -> PrunedHistory:
    row = await connection.fetchrow(_PRUNE_ALERTS, before, limit, list(PRUNABLE_STATUSES))
    status: str = await connection.execute(_PRUNE_EVENTS, before, limit)
    events = int(status.rsplit(" ", 1)[-1])  # "DELETE n"
    status = await connection.execute(_PRUNE_DEAD_LETTERS, before.timestamp())
    return PrunedHistory(
        alerts=row["alerts"],
        events=events,
        more=row["examined"] == limit or events == limit,
        dead_letters=int(status.rsplit(" ", 1)[-1]),
    )
