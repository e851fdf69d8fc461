"""SQLite side of :class:`~bridge.escalation.records.EscalationStore`.

Claims are ``INSERT OR IGNORE`` into ``escalations`` checked with ``changes()``: the one
writer thread serialises them, and the unique (alert_id, level) constraint still decides if a
second process shares the file. Every method runs on the store's reader or writer thread.
"""

from __future__ import annotations

import builtins
import sqlite3
from collections.abc import Awaitable, Callable, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any, TypeVar

from bridge.escalation.records import Claim, DueAlert
from bridge.jsontext import dumps, loads
from bridge.notify.base import MessageRef, Outcome, Payload
from bridge.notify.delivery import DeadLetter, DeliveryAttempt
from bridge.store.sqlite_sql import fetch_dicts, from_text, to_text

T = TypeVar("T")
Run = Callable[[Callable[[sqlite3.Connection], T]], Awaitable[T]]

_GONE = """
DELETE FROM escalation_schedule
WHERE next_at <= ? AND alert_id IN (
    SELECT s.alert_id FROM escalation_schedule s JOIN alert_instances a ON a.id = s.alert_id
    WHERE s.next_at <= ? AND (a.status <> 'open' OR a.primary_id IS NOT NULL))
"""
_DUE = """
SELECT a.id, a.created_at, a.severity, a.category, a.rule_id, a.title, a.asset_id,
       a.generator_url, a.labels, a.annotations,
       (SELECT group_concat(e.level) FROM escalations e WHERE e.alert_id = a.id) AS claimed
FROM escalation_schedule AS s INDEXED BY escalation_schedule_due
JOIN alert_instances AS a ON a.id = s.alert_id
WHERE s.next_at <= ? AND a.status = 'open' AND a.primary_id IS NULL
ORDER BY s.next_at
LIMIT ?
"""
_CLAIM = """
INSERT OR IGNORE INTO escalations
    (alert_id, level, recipients, channels, message, due_at, escalated_at)
VALUES (?, ?, ?, ?, ?, ?, ?)
"""
_NEXT = "UPDATE escalation_schedule SET next_at = ? WHERE alert_id = ?"
_DONE = "DELETE FROM escalation_schedule WHERE alert_id = ?"
_STATUS = {Outcome.OK: "sent", Outcome.RETRYABLE: "retrying", Outcome.PERMANENT: "failed"}
_OUTCOME = {v: k for k, v in _STATUS.items()}


def _gone(connection: sqlite3.Connection, now: datetime) -> None:
    """Drop the due rows of alerts that are no longer open primaries."""
    connection.execute(_GONE, (to_text(now), to_text(now)))


def _due(connection: sqlite3.Connection, now: datetime, limit: int) -> list[DueAlert]:
    rows = fetch_dicts(connection, _DUE, (to_text(now), limit))
    return [
        DueAlert(
            id=row["id"],
            created_at=from_text(row["created_at"]) or now,
            severity=row["severity"],
            category=row["category"],
            rule_id=row["rule_id"],
            title=row["title"],
            asset_id=row["asset_id"],
            generator_url=row["generator_url"],
            labels=loads(row["labels"]),
            annotations=loads(row["annotations"]),
            claimed=frozenset(int(x) for x in (row["claimed"] or "").split(",") if x),
        )
        for row in rows
    ]


def _claim(
    connection: sqlite3.Connection,
    claims: Sequence[Claim],
    now: datetime,
    next_check: Mapping[int, datetime | None],
) -> list[Claim]:
    _gone(connection, now)  # the due scan skips them; here they go for good
    won: list[Claim] = []
    at = to_text(now)
    for c in claims:
        connection.execute(
            _CLAIM,
            (
                c.alert_id,
                c.level,
                dumps(list(c.recipients)),
                dumps(list(c.channels)),
                c.message,
                to_text(c.due_at),
                at,
            ),
        )
        if connection.execute("SELECT changes()").fetchone()[0] == 1:
            won.append(c)
    connection.executemany(
        _NEXT, [(to_text(due), alert_id) for alert_id, due in next_check.items() if due]
    )
    connection.executemany(_DONE, [(alert_id,) for alert_id, due in next_check.items() if not due])
    return won


def _attempt(row: Mapping[str, Any]) -> DeliveryAttempt:
    return DeliveryAttempt(
        channel=row["channel"],
        alert_id=str(row["alert_id"]),
        attempt=row["attempts"],
        outcome=_OUTCOME.get(row["status"], Outcome.RETRYABLE),
        status=row["http_status"],
        latency_seconds=row["latency_seconds"] or 0.0,
        error=row["last_error"] or "",
        at=(from_text(row["created_at"]) or datetime.now(UTC)).timestamp(),
        operation=row["operation"],
    )


def _letter(row: Mapping[str, Any]) -> DeadLetter:
    return DeadLetter(
        id=row["id"],
        payload=Payload.from_json(row["payload"]),
        reason=row["reason"],
        status=row["status"],
        attempts=row["attempts"],
        created_at=row["created_at"],
    )


class SqliteEscalationStore:
    """Runs its statements through the :class:`~bridge.store.sqlite.SqliteStore` threads."""

    def __init__(self, *, read: Run[Any], write: Run[Any]) -> None:
        self._read = read
        self._write = write

    async def due_alerts(self, *, now: datetime, limit: int) -> builtins.list[DueAlert]:
        result: list[DueAlert] = await self._read(lambda c: _due(c, now, limit))
        return result

    async def claim(
        self,
        claims: Sequence[Claim],
        *,
        now: datetime,
        next_check: Mapping[int, datetime | None],
    ) -> builtins.list[Claim]:
        won: list[Claim] = await self._write(lambda c: _claim(c, claims, now, next_check))
        return won

    async def message_refs(self, alert_id: int) -> dict[str, MessageRef]:
        rows = await self._read(
            lambda c: c.execute(
                "SELECT channel, ref FROM notification_messages WHERE alert_id = ?", (alert_id,)
            ).fetchall()
        )
        return {channel: MessageRef.from_dict(loads(ref)) for channel, ref in rows}

    async def save_message_ref(self, alert_id: int, ref: MessageRef, *, now: datetime) -> None:
        statement = (
            "INSERT INTO notification_messages (alert_id, channel, ref, updated_at) "
            "VALUES (?, ?, ?, ?) ON CONFLICT (alert_id, channel) "
            "DO UPDATE SET ref = excluded.ref, updated_at = excluded.updated_at"
        )
        params = (alert_id, ref.channel, dumps(ref.to_dict()), to_text(now))
        await self._write(lambda c: c.execute(statement, params))

    async def record(self, attempt: DeliveryAttempt) -> None:
        if not attempt.alert_id.isdigit():
            return  # not an alert of this store (a test message): nothing to attach it to
        at = to_text(datetime.fromtimestamp(attempt.at, UTC))
        statement = (
            "INSERT INTO notifications (alert_id, channel, status, attempts, last_error, "
            "created_at, sent_at, operation, http_status, latency_seconds) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
        )
        params = (
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
        await self._write(lambda c: c.execute(statement, params))

    async def attempts(
        self, *, alert_id: str | None = None, channel: str | None = None
    ) -> builtins.list[DeliveryAttempt]:
        statement = (
            "SELECT * FROM notifications WHERE (? IS NULL OR alert_id = ?) "
            "AND (? IS NULL OR channel = ?) ORDER BY id"
        )
        wanted = int(alert_id) if alert_id is not None and alert_id.isdigit() else alert_id
        params = (wanted, wanted, channel, channel)
        rows = await self._read(lambda c: fetch_dicts(c, statement, params))
        return [_attempt(row) for row in rows]

    async def add(self, letter: DeadLetter) -> None:
        statement = (
            "INSERT OR REPLACE INTO dead_letters (id, channel, alert_id, payload, reason, "
            "status, attempts, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)"
        )
        p = letter.payload
        params = (
            letter.id,
            p.channel,
            p.alert_id,
            p.to_json(),
            letter.reason,
            letter.status,
            letter.attempts,
            letter.created_at,
        )
        await self._write(lambda c: c.execute(statement, params))

    async def list(
        self, *, channel: str | None = None, limit: int = 100
    ) -> builtins.list[DeadLetter]:
        statement = (
            "SELECT * FROM dead_letters WHERE (? IS NULL OR channel = ?) "
            "ORDER BY created_at, id LIMIT ?"
        )
        rows = await self._read(lambda c: fetch_dicts(c, statement, (channel, channel, limit)))
        return [_letter(row) for row in rows]

    async def take(
        self, *, ids: Sequence[str] | None = None, channel: str | None = None
    ) -> builtins.list[DeadLetter]:
        # DELETE ... RETURNING on the one writer thread: a letter is taken once.
        clauses, params = ["(? IS NULL OR channel = ?)"], [channel, channel]
        if ids is not None:
            clauses.append(f"id IN ({', '.join('?' * len(ids))})" if ids else "0")
            params.extend(ids)
        statement = f"DELETE FROM dead_letters WHERE {' AND '.join(clauses)} RETURNING *"  # noqa: S608
        rows = await self._write(lambda c: fetch_dicts(c, statement, params))
        return sorted((_letter(row) for row in rows), key=lambda x: (x.created_at, x.id))
