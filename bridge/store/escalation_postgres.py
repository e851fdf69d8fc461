"""PostgreSQL side of :class:`~bridge.escalation.records.EscalationStore`.

Claims are one ``INSERT … SELECT FROM unnest(…) ON CONFLICT (alert_id, level) DO NOTHING
RETURNING``: rows another replica inserted first are simply not returned, so each level is
sent by exactly one replica. Dead letters are taken with ``DELETE … RETURNING``: a row is
deleted, hence replayed, once.
"""

from __future__ import annotations

import builtins
from collections.abc import Awaitable, Callable, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any, TypeVar

from bridge.escalation.records import Claim, DueAlert
from bridge.jsontext import dumps
from bridge.notify.base import MessageRef, Outcome, Payload
from bridge.notify.delivery import DeadLetter, DeliveryAttempt

T = TypeVar("T")
WithConnection = Callable[[Callable[[Any], Awaitable[T]]], Awaitable[T]]

# The earliest due rows by the schedule's index, each alert then fetched by its primary key
# (OFFSET 0 keeps the planner from turning that into a join over all of alert_instances, which
# it picks from a young table's statistics). Rows of alerts that are no longer open primaries
# are deleted here; a tick finds at most one batch of them before the rest is due again.
_DUE = """
WITH due AS MATERIALIZED (
    SELECT s.alert_id, s.next_at, a.*
    FROM (SELECT alert_id, next_at FROM escalation_schedule WHERE next_at <= $1
          ORDER BY next_at LIMIT $2) s
    CROSS JOIN LATERAL (
        SELECT a.status, a.primary_id, a.created_at, a.severity, a.category, a.rule_id,
               a.title, a.asset_id, a.generator_url, a.labels, a.annotations
        FROM alert_instances a WHERE a.id = s.alert_id OFFSET 0) a
), gone AS (
    DELETE FROM escalation_schedule
    WHERE alert_id = ANY(ARRAY(SELECT alert_id FROM due
                               WHERE status <> 'open' OR primary_id IS NOT NULL))
)
SELECT d.alert_id AS id, d.created_at, d.severity, d.category, d.rule_id, d.title, d.asset_id,
       d.generator_url, d.labels, d.annotations,
       ARRAY(SELECT e.level FROM escalations e WHERE e.alert_id = d.alert_id) AS claimed
FROM due d
WHERE d.status = 'open' AND d.primary_id IS NULL
ORDER BY d.next_at
"""
# The claims and the alerts' next check times, in one statement (one round trip, its own
# transaction): the insert and the schedule's changes touch different tables, so running them
# against one snapshot is the same as running them one after the other.
# NULL in $9 means "no level left": the alert's schedule row goes.
_CLAIM = """
WITH claimed AS (
    INSERT INTO escalations (alert_id, level, recipients, channels, message, due_at,
                             escalated_at)
    SELECT t.alert_id, t.level, t.recipients::jsonb, t.channels::jsonb, t.message, t.due_at, $7
    FROM unnest($1::bigint[], $2::int[], $3::text[], $4::text[], $5::text[], $6::timestamptz[])
         AS t(alert_id, level, recipients, channels, message, due_at)
    ON CONFLICT (alert_id, level) DO NOTHING
    RETURNING alert_id, level
), done AS (
    DELETE FROM escalation_schedule s
    USING unnest($8::bigint[], $9::timestamptz[]) AS t (alert_id, next_at)
    WHERE s.alert_id = t.alert_id AND t.next_at IS NULL
), moved AS (
    UPDATE escalation_schedule s SET next_at = t.next_at
    FROM unnest($8::bigint[], $9::timestamptz[]) AS t (alert_id, next_at)
    WHERE s.alert_id = t.alert_id AND t.next_at IS NOT NULL
)
SELECT alert_id, level FROM claimed
"""
_STATUS = {Outcome.OK: "sent", Outcome.RETRYABLE: "retrying", Outcome.PERMANENT: "failed"}
_OUTCOME = {v: k for k, v in _STATUS.items()}


def _letter(row: Mapping[str, Any]) -> DeadLetter:
    return DeadLetter(
        id=row["id"],
        payload=Payload.from_json(row["payload"]),
        reason=row["reason"],
        status=row["status"],
        attempts=row["attempts"],
        created_at=row["created_at"],
    )


class PostgresEscalationStore:
    """Runs its statements on connections of the :class:`~bridge.store.postgres.PostgresStore`."""

    def __init__(self, *, with_connection: WithConnection[Any]) -> None:
        self._run = with_connection

    async def due_alerts(self, *, now: datetime, limit: int) -> builtins.list[DueAlert]:
        rows = await self._run(lambda c: c.fetch(_DUE, now, limit))
        return [
            DueAlert(
                id=row["id"],
                created_at=row["created_at"],
                severity=row["severity"],
                category=row["category"],
                rule_id=row["rule_id"],
                title=row["title"],
                asset_id=row["asset_id"],
                generator_url=row["generator_url"],
                labels=row["labels"],
                annotations=row["annotations"],
                claimed=frozenset(row["claimed"]),
            )
            for row in rows
        ]

    async def claim(
        self,
        claims: Sequence[Claim],
        *,
        now: datetime,
        next_check: Mapping[int, datetime | None],
    ) -> builtins.list[Claim]:
        ids = sorted(next_check)  # a stable lock order against other replicas

        async def run(connection: Any) -> list[tuple[int, int]]:
            rows = await connection.fetch(
                _CLAIM,
                [c.alert_id for c in claims],
                [c.level for c in claims],
                [dumps(list(c.recipients)) for c in claims],
                [dumps(list(c.channels)) for c in claims],
                [c.message for c in claims],
                [c.due_at for c in claims],
                now,
                ids,
                [next_check[i] for i in ids],
            )
            return [(row["alert_id"], row["level"]) for row in rows]

        inserted = set(await self._run(run))
        return [c for c in claims if (c.alert_id, c.level) in inserted]

    async def message_refs(self, alert_id: int) -> dict[str, MessageRef]:
        rows = await self._run(
            lambda c: c.fetch(
                "SELECT channel, ref FROM notification_messages WHERE alert_id = $1", alert_id
            )
        )
        return {row["channel"]: MessageRef.from_dict(row["ref"]) for row in rows}

    async def save_message_ref(self, alert_id: int, ref: MessageRef, *, now: datetime) -> None:
        statement = (
            "INSERT INTO notification_messages (alert_id, channel, ref, updated_at) "
            "VALUES ($1, $2, $3, $4) ON CONFLICT (alert_id, channel) "
            "DO UPDATE SET ref = EXCLUDED.ref, updated_at = EXCLUDED.updated_at"
        )
        await self._run(lambda c: c.execute(statement, alert_id, ref.channel, ref.to_dict(), now))

    async def record(self, attempt: DeliveryAttempt) -> None:
        if not attempt.alert_id.isdigit():
            return  # not an alert of this store (a test message): nothing to attach it to
        at = datetime.fromtimestamp(attempt.at, UTC)
        statement = (
            "INSERT INTO notifications (alert_id, channel, status, attempts, last_error, "
            "created_at, sent_at, operation, http_status, latency_seconds) "
            "VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)"
        )
        args = (
            int(attempt.alert_id),
            attempt.channel,
            _STATUS[attempt.outcome],
            attempt.attempt,
            attempt.error or None,
            at,
            at if attempt.outcome is Outcome.OK else None,
            attempt.operation,
            attempt.status,
            attempt.latency_seconds,
        )
        await self._run(lambda c: c.execute(statement, *args))

    async def attempts(
        self, *, alert_id: str | None = None, channel: str | None = None
    ) -> builtins.list[DeliveryAttempt]:
        if alert_id is not None and not alert_id.isdigit():
            return []
        wanted = int(alert_id) if alert_id is not None else None
        statement = (
            "SELECT * FROM notifications WHERE ($1::bigint IS NULL OR alert_id = $1) "
            "AND ($2::text IS NULL OR channel = $2) ORDER BY id"
        )
        rows = await self._run(lambda c: c.fetch(statement, wanted, channel))
        return [
            DeliveryAttempt(
                channel=row["channel"],
                alert_id=str(row["alert_id"]),
                attempt=row["attempts"],
                outcome=_OUTCOME.get(row["status"], Outcome.RETRYABLE),
                status=row["http_status"],
                latency_seconds=row["latency_seconds"] or 0.0,
                error=row["last_error"] or "",
                at=row["created_at"].timestamp(),
                operation=row["operation"],
            )
            for row in rows
        ]

    async def add(self, letter: DeadLetter) -> None:
        statement = (
            "INSERT INTO dead_letters (id, channel, alert_id, payload, reason, status, "
            "attempts, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8) "
            "ON CONFLICT (id) DO UPDATE SET reason = EXCLUDED.reason"
        )
        p = letter.payload
        args = (
            letter.id,
            p.channel,
            p.alert_id,
            p.to_json(),
            letter.reason,
            letter.status,
            letter.attempts,
            letter.created_at,
        )
        await self._run(lambda c: c.execute(statement, *args))

    async def list(
        self, *, channel: str | None = None, limit: int = 100
    ) -> builtins.list[DeadLetter]:
        statement = (
            "SELECT * FROM dead_letters WHERE ($1::text IS NULL OR channel = $1) "
            "ORDER BY created_at, id LIMIT $2"
        )
        rows = await self._run(lambda c: c.fetch(statement, channel, limit))
        return [_letter(row) for row in rows]

    async def take(
        self, *, ids: Sequence[str] | None = None, channel: str | None = None
    ) -> builtins.list[DeadLetter]:
        statement = (
            "DELETE FROM dead_letters WHERE ($1::text[] IS NULL OR id = ANY($1)) "
            "AND ($2::text IS NULL OR channel = $2) RETURNING *"
        )
        wanted = list(ids) if ids is not None else None
        rows = await self._run(lambda c: c.fetch(statement, wanted, channel))
        return sorted((_letter(row) for row in rows), key=lambda x: (x.created_at, x.id))
