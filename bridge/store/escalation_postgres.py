"""PostgreSQL side of :class:`~bridge.escalation.records.EscalationStore`.

Claims are one ``INSERT … SELECT FROM unnest(…) ON CONFLICT (alert_id, level) DO NOTHING
RETURNING``: rows another replica inserted first are simply not returned, so each level is
sent by exactly one replica. Dead letters are taken with ``DELETE … RETURNING``: a row is
deleted, hence replayed, once.
"""

from __future__ import annotations

import builtins
import json
from collections.abc import Awaitable, Callable, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any, TypeVar

from bridge.escalation.records import Claim, DueAlert
from bridge.notify.base import MessageRef, Outcome, Payload
from bridge.notify.delivery import DeadLetter, DeliveryAttempt

T = TypeVar("T")
WithConnection = Callable[[Callable[[Any], Awaitable[T]]], Awaitable[T]]

_DUE = """
SELECT a.id, a.created_at, a.severity, a.category, a.rule_id, a.title, a.asset_id,
       a.generator_url, a.labels, a.annotations,
       ARRAY(SELECT e.level FROM escalations e WHERE e.alert_id = a.id) AS claimed
FROM alert_instances a
WHERE a.status = 'open' AND COALESCE(a.escalation_next_at, a.created_at) <= $1
  AND a.primary_id IS NULL
ORDER BY COALESCE(a.escalation_next_at, a.created_at)
LIMIT $2
"""
_CLAIM = """
INSERT INTO escalations (alert_id, level, recipients, channels, message, due_at, escalated_at)
SELECT t.alert_id, t.level, t.recipients::jsonb, t.channels::jsonb, t.message, t.due_at, $7
FROM unnest($1::bigint[], $2::int[], $3::text[], $4::text[], $5::text[], $6::timestamptz[])
     AS t(alert_id, level, recipients, channels, message, due_at)
ON CONFLICT (alert_id, level) DO NOTHING
RETURNING alert_id, level
"""
# NULL in the array means "no level left": stored as 'infinity', which is never due.
_NEXT = """
UPDATE alert_instances a SET escalation_next_at = COALESCE(t.next_at, 'infinity')
FROM unnest($1::bigint[], $2::timestamptz[]) AS t(id, next_at)
WHERE a.id = t.id
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
        async def run(connection: Any) -> list[tuple[int, int]]:
            async with connection.transaction():
                rows = await connection.fetch(
                    _CLAIM,
                    [c.alert_id for c in claims],
                    [c.level for c in claims],
                    [json.dumps(list(c.recipients)) for c in claims],
                    [json.dumps(list(c.channels)) for c in claims],
                    [c.message for c in claims],
                    [c.due_at for c in claims],
                    now,
                )
                await connection.execute(_NEXT, list(next_check), list(next_check.values()))
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
