"""PostgreSQL statements for the alert lifecycle: pipeline results, user actions, the sweep.

The pipeline's write for a pass of deliveries is one set-wise statement over ``unnest``ed
arrays, so its cost barely grows with the number of alerts in the pass.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

import asyncpg

from bridge.jsontext import dumps
from bridge.store.base import StoredAlert
from bridge.store.pending import AlreadyProcessed, NotYetVisible, WriteConflict
from bridge.store.postgres_columns import JoinedStatement
from bridge.store.postgres_rows import stored_alert
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
    Occurrence,
    PreparedWrite,
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

_INSTANCE_COLUMNS = """id, fingerprint, starts_at, ends_at, am_status, status, resolved_at,
    resolved_by, rule_id, alertname, title, severity, base_severity, category, business_impact,
    urgency, confidence, reasons, enrichment, classified_at, asset_id, environment, labels,
    annotations, generator_url, created_at, updated_at, primary_id, dedupe_score,
    occurrence_count, last_occurrence_at, duplicates"""

# The pipeline's write of a pass, one statement (one round trip, its own transaction). Every
# data-modifying CTE runs against the statement's snapshot, so no two of them touch the same
# row: the caller folds into a new instance what the same pass does to it (merges, its
# resolution), and ``touched`` does both for a stored one. The final SELECT turns off the wait
# for the WAL flush for this transaction only (see apply_processing) and checks, raising
# (secmon_check) so that nothing is written, that no other worker completed a receipt first
# and that every stored instance the write changes exists.
_APPLY = f"""
WITH processed AS (
    DELETE FROM pending_receipts r
    USING unnest($1::text[], $2::timestamptz[], $3::text[]) AS k (fingerprint, starts_at, status)
    WHERE r.fingerprint = k.fingerprint AND r.starts_at = k.starts_at AND r.status = k.status
    RETURNING 1
), created AS (
    INSERT INTO alert_instances ({_INSTANCE_COLUMNS}) OVERRIDING SYSTEM VALUE
    SELECT i.id, i.fingerprint, i.starts_at, i.ends_at, i.am_status, i.status, i.resolved_at,
           i.resolved_by, i.rule_id, i.alertname, i.title, i.severity, i.base_severity,
           i.category, i.business_impact, i.urgency, i.confidence, i.reasons::jsonb,
           i.enrichment::jsonb, i.classified_at, i.asset_id, i.environment, i.labels::jsonb,
           i.annotations::jsonb, i.generator_url, i.created_at, i.updated_at, i.primary_id,
           i.dedupe_score, i.occurrence_count, i.last_occurrence_at, i.duplicates::jsonb
    FROM unnest($5::bigint[], $6::text[], $7::timestamptz[], $8::timestamptz[], $9::text[],
                $10::text[], $11::timestamptz[], $12::text[], $13::text[], $14::text[],
                $15::text[], $16::text[], $17::text[], $18::text[], $19::text[], $20::text[],
                $21::float8[], $22::text[], $23::text[], $24::timestamptz[], $25::text[],
                $26::text[], $27::text[], $28::text[], $29::text[], $30::timestamptz[],
                $31::timestamptz[], $32::bigint[], $33::float8[], $34::int[],
                $35::timestamptz[], $36::text[])
         AS i ({_INSTANCE_COLUMNS})
    ORDER BY i.id
    -- An instance its receiver created before alert instances were written by the pipeline
    -- (migration 0013) and that was never classified: the pipeline completes it.
    ON CONFLICT (id) DO UPDATE
        SET severity = EXCLUDED.severity, base_severity = EXCLUDED.base_severity,
            category = EXCLUDED.category, business_impact = EXCLUDED.business_impact,
            urgency = EXCLUDED.urgency, confidence = EXCLUDED.confidence,
            reasons = EXCLUDED.reasons, enrichment = EXCLUDED.enrichment,
            classified_at = EXCLUDED.classified_at, primary_id = EXCLUDED.primary_id,
            dedupe_score = EXCLUDED.dedupe_score, updated_at = EXCLUDED.updated_at,
            occurrence_count = alert_instances.occurrence_count + EXCLUDED.occurrence_count - 1,
            last_occurrence_at = EXCLUDED.last_occurrence_at,
            duplicates = alert_instances.duplicates || EXCLUDED.duplicates
        WHERE alert_instances.classified_at IS NULL
    RETURNING id, am_status, status, resolved_by, severity, created_at, resolved_at
), touched AS (
    -- SET reads the row as it was; ``old`` is joined only to say, in RETURNING, whether
    -- Alertmanager's resolution is news for this instance.
    UPDATE alert_instances a
    SET occurrence_count = a.occurrence_count + u.n,
        last_occurrence_at = CASE WHEN u.n > 0 THEN greatest(a.last_occurrence_at, u.last_at)
                                  ELSE a.last_occurrence_at END,
        duplicates = CASE WHEN u.n > 0 THEN a.duplicates || u.merged::jsonb
                          ELSE a.duplicates END,
        updated_at = u.at,
        am_status = CASE WHEN u.resolve THEN 'resolved' ELSE a.am_status END,
        ends_at = CASE WHEN u.resolve AND a.am_status <> 'resolved' THEN u.ends_at
                       ELSE a.ends_at END,
        -- Alertmanager's resolution ends an active alert; one a user suppressed (or
        -- resolved) keeps its lifecycle state and only learns that Alertmanager is done.
        resolved_at = CASE WHEN u.resolve AND a.am_status <> 'resolved'
                                AND a.status IN {_ACTIVE} THEN u.resolved_at
                           ELSE a.resolved_at END,
        resolved_by = CASE WHEN u.resolve AND a.am_status <> 'resolved'
                                AND a.status IN {_ACTIVE} THEN 'alertmanager'
                           ELSE a.resolved_by END,
        status = CASE WHEN u.resolve AND a.am_status <> 'resolved' AND a.status IN {_ACTIVE}
                      THEN 'resolved' ELSE a.status END
    FROM unnest($37::bigint[], $38::timestamptz[], $39::int[], $40::text[],
                $41::timestamptz[], $42::bool[], $43::timestamptz[], $44::timestamptz[])
         AS u (id, at, n, merged, last_at, resolve, ends_at, resolved_at)
    JOIN alert_instances old ON old.id = u.id
    WHERE a.id = u.id
    RETURNING a.id, u.at, u.resolve AND old.am_status <> 'resolved' AS resolved_now, a.status,
              a.resolved_by, a.severity, a.created_at, a.resolved_at
), resolved_entries AS (
    INSERT INTO alert_timeline (alert_id, at, kind, actor, message, detail)
    SELECT id, at, 'resolved', 'alertmanager', 'resolved by Alertmanager', '{{}}'::jsonb
    FROM touched WHERE resolved_now
), unscheduled AS (
    -- Only open alerts escalate.
    DELETE FROM escalation_schedule WHERE alert_id IN (SELECT id FROM touched WHERE resolved_now)
), occurrences AS (
    INSERT INTO alert_occurrences (alert_id, am_status, starts_at, group_key, receiver,
                                   received_at)
    SELECT * FROM unnest($45::bigint[], $46::text[], $47::timestamptz[], $48::text[],
                         $49::text[], $50::timestamptz[])
), timeline AS (
    INSERT INTO alert_timeline (alert_id, at, kind, actor, message, detail)
    SELECT t.alert_id, t.at, t.kind, t.actor, t.message, t.detail::jsonb
    FROM unnest($51::bigint[], $52::timestamptz[], $53::text[], $54::text[], $55::text[],
                $56::text[]) AS t (alert_id, at, kind, actor, message, detail)
), events AS (
    INSERT INTO security_events (source, event_type, severity, platform, asset_id, title,
                                 details, created_at)
    SELECT e.source, e.event_type, e.severity, e.platform, e.asset_id, e.title,
           e.details::jsonb, e.created_at
    FROM unnest($57::text[], $58::text[], $59::text[], $60::text[], $61::text[], $62::text[],
                $63::text[], $64::timestamptz[])
         AS e (source, event_type, severity, platform, asset_id, title, details, created_at)
), scheduled AS (
    INSERT INTO escalation_schedule (alert_id, next_at)
    SELECT * FROM unnest($65::bigint[], $66::timestamptz[])
    ON CONFLICT (alert_id) DO NOTHING
), resolved AS MATERIALIZED (
    SELECT id, status, resolved_by, severity, created_at, resolved_at
    FROM created WHERE am_status = 'resolved'
    UNION ALL
    SELECT id, status, resolved_by, severity, created_at, resolved_at
    FROM touched WHERE resolved_now
), timed AS MATERIALIZED (
    SELECT id, severity, greatest(0, extract(epoch FROM resolved_at - created_at)) AS seconds
    FROM resolved WHERE status = 'resolved' AND resolved_by = 'alertmanager'
)
SELECT set_config('synchronous_commit', 'off', true),
       secmon_check((SELECT count(*) FROM processed) = $4
                    AND (SELECT count(*) FROM created) = cardinality($5::bigint[]),
                    'secmon: receipts already processed'),
       secmon_check((SELECT count(*) FROM touched) = cardinality($37::bigint[]),
                    'secmon: instance not yet created'),
       ARRAY(SELECT id FROM resolved) AS resolved,
       ARRAY(SELECT id FROM timed ORDER BY id) AS timed,
       ARRAY(SELECT severity FROM timed ORDER BY id) AS severities,
       ARRAY(SELECT seconds::float8 FROM timed ORDER BY id) AS seconds
"""  # noqa: S608 - only fixed fragments are interpolated


def _duplicates_json(links: Sequence[DuplicateLink]) -> str:
    return dumps(
        [
            {
                "alert_id": link.alert_id,
                "timestamp": link.at.isoformat(),
                "source": link.source,
                "score": link.score,
                "exact": link.exact,
            }
            for link in links
        ]
    )


def _apply_arguments(write: ProcessingWrite) -> list[Any]:
    p = sorted(write.processed)  # a stable lock order against a concurrent worker
    i = sorted(write.instances, key=lambda x: x.id)
    u = sorted(write.updates, key=lambda x: x.id)
    o, t, e, s = write.occurrences, write.timeline, write.events, sorted(write.scheduled)
    return [
        [k[0] for k in p], [k[1] for k in p], [k[2] for k in p], len(p),
        [x.id for x in i], [x.fingerprint for x in i], [x.starts_at for x in i],
        [x.ends_at for x in i], [x.am_status for x in i], [x.status for x in i],
        [x.resolved_at for x in i], [x.resolved_by for x in i], [x.rule_id for x in i],
        [x.alertname for x in i], [x.title for x in i], [x.severity for x in i],
        [x.base_severity for x in i], [x.category for x in i], [x.business_impact for x in i],
        [x.urgency for x in i], [x.confidence for x in i], [dumps(list(x.reasons)) for x in i],
        [dumps(dict(x.enrichment)) for x in i], [x.classified_at for x in i],
        [x.asset_id for x in i], [x.environment for x in i], [dumps(dict(x.labels)) for x in i],
        [dumps(dict(x.annotations)) for x in i], [x.generator_url for x in i],
        [x.created_at for x in i], [x.updated_at for x in i], [x.primary_id for x in i],
        [x.dedupe_score for x in i], [x.occurrence_count for x in i],
        [x.last_occurrence_at for x in i], [_duplicates_json(x.duplicates) for x in i],
        [x.id for x in u], [x.at for x in u], [len(x.merged) for x in u],
        [_duplicates_json(x.merged) for x in u],
        [max((m.at for m in x.merged), default=None) for x in u],
        [x.resolve is not None for x in u], [x.resolve[0] if x.resolve else None for x in u],
        [x.resolve[1] if x.resolve else None for x in u],
        [x.alert_id for x in o], [x.am_status for x in o], [x.starts_at for x in o],
        [x.group_key for x in o], [x.receiver for x in o], [x.received_at for x in o],
        [x.alert_id for x in t], [x.at for x in t], [x.kind for x in t], [x.actor for x in t],
        [x.message for x in t], [dumps(dict(x.detail)) for x in t],
        [x.source for x in e], [x.event_type for x in e], [x.severity for x in e],
        [x.platform for x in e], [x.asset_id for x in e], [x.title for x in e],
        [dumps(dict(x.details)) for x in e], [x.created_at for x in e],
        [x[0] for x in s], [x[1] for x in s],
    ]  # fmt: skip


_REOPEN = """
INSERT INTO escalation_schedule (alert_id, next_at) VALUES ($1, $2)
ON CONFLICT (alert_id) DO UPDATE SET next_at = least(escalation_schedule.next_at, $2)
"""

_PROBLEMS = {
    "secmon: receipts already processed": AlreadyProcessed,
    "secmon: instance not yet created": NotYetVisible,
}
_RACED = "alert_instances_fingerprint_starts_at_key"


_APPLY_STATEMENT = JoinedStatement.of(_APPLY)


def prepare_processing(write: ProcessingWrite) -> PreparedWrite:
    """The statement and its arguments, encoded before the pass's turn to write."""
    return PreparedWrite(write, _APPLY_STATEMENT.bind(_apply_arguments(write)))


async def apply_processing(connection: Any, write: ProcessingWrite) -> AppliedWrite:
    return await apply_prepared(connection, prepare_processing(write))


async def apply_prepared(connection: Any, prepared: PreparedWrite) -> AppliedWrite:
    # Everything here derives from receipts already committed durably by record_delivery,
    # and the pending rows go in the same transaction as the rest: a crash that loses this
    # write leaves its receipts pending, and the recovery sweep writes them again. So the
    # transaction skips waiting for its WAL flush.
    write, (statement, arguments) = prepared.write, prepared.arguments
    try:
        if not write.compliance:
            # One statement is its own transaction: one round trip on the hot path.
            row = await connection.fetchrow(statement, *arguments)
        else:
            async with connection.transaction():
                row = await connection.fetchrow(statement, *arguments)
                await _assess(connection, current_assessments(write.compliance))
    except asyncpg.exceptions.RaiseError as exc:
        problem = _PROBLEMS.get(str(exc))
        if problem is None:
            raise
        raise problem(str(exc).removeprefix("secmon: ")) from None
    except asyncpg.exceptions.UniqueViolationError as exc:
        if exc.constraint_name != _RACED:
            raise
        raise WriteConflict("the instance's other receipt created it first") from None
    timings = [
        ResolvedTiming(alert_id, severity, float(seconds))
        for alert_id, severity, seconds in zip(
            row["timed"], row["severities"], row["seconds"], strict=True
        )
    ]
    return AppliedWrite(resolved=frozenset(row["resolved"]), timings=tuple(timings))


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
WHERE a.created_at >= $4
GROUP BY a.rule_id, a.asset_id
UNION ALL
SELECT 'open', x.rule_id, x.asset_id, NULL, NULL, x.id
FROM unnest($5::text[]) AS r (rule_id)
CROSS JOIN LATERAL (SELECT id, rule_id, asset_id FROM alert_instances
                    WHERE rule_id = r.rule_id AND status IN {_ACTIVE}
                    ORDER BY id DESC LIMIT $7) x
UNION ALL
SELECT 'open', x.rule_id, x.asset_id, NULL, NULL, x.id
FROM unnest($6::text[]) AS s (asset_id)
CROSS JOIN LATERAL (SELECT id, rule_id, asset_id FROM alert_instances
                    WHERE asset_id = s.asset_id AND status IN {_ACTIVE}
                    ORDER BY id DESC LIMIT $7) x
"""  # noqa: S608 - a constant

# Enough related alerts per rule or asset for each alert's list (the stage shows 20).
RELATED_PER_KEY = 25


async def classification_history(
    connection: Any,
    pairs: Sequence[tuple[str | None, str | None]],
    now: datetime,
) -> ClassificationHistory:
    keys = sorted({(r, a) for r, a in pairs if r is not None and a is not None})
    rows = await connection.fetch(
        _HISTORY,
        [k[0] for k in keys],
        [k[1] for k in keys],
        now - timedelta(days=7),
        now - timedelta(days=30),
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


# A body with pending receipts stays: the recovery sweep rebuilds their alerts from it.
_PRUNE_BODIES = """
UPDATE webhook_payloads SET payload = '{}'
WHERE id IN (SELECT id FROM webhook_payloads p
             WHERE received_at < $1 AND payload <> '{}'
               AND NOT EXISTS (SELECT 1 FROM pending_receipts r WHERE r.payload_id = p.id)
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
