"""SQL and row mapping for the SQLite store; every function here runs on a worker thread.

Statements go one alert at a time: SQLite runs in-process, so a statement costs microseconds
and there is no network round trip to batch away. The whole delivery still commits at once.
"""

from __future__ import annotations

import functools
import sqlite3
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

from bridge.jsontext import dumps, loads
from bridge.store.base import (
    AlertPage,
    AlertQuery,
    Delivery,
    IncomingAlert,
    ReceiptResult,
    StoredAlert,
)
from bridge.store.rows import COLUMNS_SQL, stored_alert

CREATE_SCHEMA_MIGRATIONS = """
CREATE TABLE IF NOT EXISTS schema_migrations (
    version    INTEGER PRIMARY KEY,
    name       TEXT NOT NULL,
    applied_at TEXT NOT NULL
)"""
SELECT_SCHEMA_VERSION = "SELECT coalesce(max(version), 0) FROM schema_migrations"

_UPSERT_PAYLOAD = """
INSERT INTO webhook_payloads (sha256, group_key, receiver, status, truncated_alerts,
                              alert_count, payload, received_at, last_received_at)
VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
ON CONFLICT (sha256) DO UPDATE SET received_count = received_count + 1,
                                   last_received_at = excluded.last_received_at
RETURNING id"""

_UPSERT_RECEIPT = """
INSERT INTO alert_receipts (fingerprint, starts_at, status, payload_id,
                            first_received_at, last_received_at)
VALUES (?, ?, ?, ?, ?, ?)
ON CONFLICT (fingerprint, starts_at, status) DO UPDATE
    SET received_count = received_count + 1, last_received_at = excluded.last_received_at
RETURNING received_count"""

_INSERT_PENDING = """
INSERT OR IGNORE INTO pending_receipts (fingerprint, starts_at, status, payload_id,
                                        first_received_at)
VALUES (?, ?, ?, ?, ?)"""

_FIND_INSTANCE = "SELECT id, am_status FROM alert_instances WHERE fingerprint = ? AND starts_at = ?"

_INSERT_INSTANCE = """
INSERT INTO alert_instances (fingerprint, rule_id, alertname, title, severity, base_severity,
                             category, am_status, status, asset_id, environment, labels,
                             annotations, generator_url, starts_at, ends_at, created_at,
                             updated_at, resolved_at, resolved_by)
VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
RETURNING id"""

# Alertmanager's resolution ends an active alert; one a user suppressed (or already resolved)
# keeps its lifecycle state and only learns that Alertmanager is done with it.
_RESOLVE_INSTANCE = """
UPDATE alert_instances
SET am_status = 'resolved', ends_at = ?, updated_at = ?,
    resolved_at = CASE WHEN status IN ('open', 'acknowledged') THEN ? ELSE resolved_at END,
    resolved_by = CASE WHEN status IN ('open', 'acknowledged') THEN 'alertmanager'
                       ELSE resolved_by END,
    status = CASE WHEN status IN ('open', 'acknowledged') THEN 'resolved' ELSE status END
WHERE id = ?"""


def to_text(value: datetime | None) -> str | None:
    """Fixed-width UTC text, so that text order is time order."""
    return None if value is None else _utc_text(value)


@functools.lru_cache(maxsize=4096)
def _utc_text(value: datetime) -> str:
    # Cached: a pass writes its deliveries' few receive times once per alert, occurrence and
    # timeline line. Equal datetimes in other zones are the same instant, hence the same text.
    return value.astimezone(UTC).replace(tzinfo=None).isoformat(timespec="microseconds") + "Z"


def from_text(value: str | None) -> datetime | None:
    return None if value is None else datetime.fromisoformat(value)


def record_delivery(connection: sqlite3.Connection, delivery: Delivery) -> list[ReceiptResult]:
    """Store the payload and its alerts; the caller owns the transaction."""
    received = to_text(delivery.received_at)
    (payload_id,) = connection.execute(
        _UPSERT_PAYLOAD,
        (
            delivery.sha256,
            delivery.group_key,
            delivery.receiver,
            delivery.status,
            delivery.truncated_alerts,
            len(delivery.alerts),
            delivery.body,
            received,
            received,
        ),
    ).fetchone()
    results = [_record_alert(connection, alert, payload_id, received) for alert in delivery.alerts]
    # Work for the pipeline: one row per new receipt, deleted by the pipeline's write.
    connection.executemany(
        _INSERT_PENDING,
        [
            (r.alert.fingerprint, to_text(r.alert.starts_at), r.alert.status, payload_id, received)
            for r in results
            if not r.duplicate
        ],
    )
    return results


def _record_alert(
    connection: sqlite3.Connection, alert: IncomingAlert, payload_id: int, received: str | None
) -> ReceiptResult:
    starts = to_text(alert.starts_at)
    (count,) = connection.execute(
        _UPSERT_RECEIPT, (alert.fingerprint, starts, alert.status, payload_id, received, received)
    ).fetchone()
    row = connection.execute(_FIND_INSTANCE, (alert.fingerprint, starts)).fetchone()
    if count > 1 and row is not None:
        return ReceiptResult(alert, row[0], duplicate=True, created=False, resolved=False)
    resolved_at = _resolved_at(alert, received)
    if row is None:
        (instance_id,) = connection.execute(
            _INSERT_INSTANCE,
            (
                alert.fingerprint,
                alert.rule_id,
                alert.alertname,
                alert.title,
                alert.severity,
                alert.severity,
                alert.category,
                alert.status,
                "resolved" if alert.status == "resolved" else "open",
                alert.asset_id,
                alert.environment,
                dumps(dict(alert.labels)),
                dumps(dict(alert.annotations)),
                alert.generator_url,
                starts,
                to_text(alert.ends_at),
                received,
                received,
                resolved_at,
                "alertmanager" if resolved_at is not None else None,
            ),
        ).fetchone()
        return ReceiptResult(
            alert, instance_id, duplicate=False, created=True, resolved=resolved_at is not None
        )
    if alert.status == "resolved" and row[1] != "resolved":
        connection.execute(
            _RESOLVE_INSTANCE, (to_text(alert.ends_at), received, resolved_at, row[0])
        )
        return ReceiptResult(alert, row[0], duplicate=False, created=False, resolved=True)
    # A firing receipt for an instance already resolved (delivered out of order): the
    # resolution stands, because Prometheus starts a new instance when the alert fires again.
    return ReceiptResult(alert, row[0], duplicate=False, created=False, resolved=False)


def _resolved_at(alert: IncomingAlert, received: str | None) -> str | None:
    if alert.status != "resolved":
        return None
    return to_text(alert.ends_at) or received


def list_alerts(connection: sqlite3.Connection, query: AlertQuery) -> AlertPage:
    clauses: list[str] = []
    params: list[Any] = []
    for column, value in (
        ("status", query.status),
        ("severity", query.severity),
        ("rule_id", query.rule_id),
        ("asset_id", query.asset_id),
    ):
        if value is not None:
            clauses.append(f"{column} = ?")
            params.append(value)
    if query.since is not None:
        clauses.append("created_at >= ?")
        params.append(to_text(query.since))
    if query.before_id is not None:
        clauses.append("id < ?")
        params.append(query.before_id)
    where = f"WHERE {' AND '.join(clauses)}" if clauses else ""
    # Column names come from fixed strings, never from the request.
    statement = f"SELECT {COLUMNS_SQL} FROM alert_instances {where} ORDER BY id DESC LIMIT ?"  # noqa: S608
    rows = fetch_dicts(connection, statement, (*params, query.limit + 1))
    alerts = [sqlite_alert(row) for row in rows[: query.limit]]
    next_before = alerts[-1].id if len(rows) > query.limit else None
    return AlertPage(alerts=alerts, next_before_id=next_before)


def fetch_dicts(
    connection: sqlite3.Connection, statement: str, params: Sequence[Any] = ()
) -> list[dict[str, Any]]:
    cursor = connection.execute(statement, params)
    names = [column[0] for column in cursor.description]
    return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]


def _json(value: Any) -> Any:
    return None if value is None else loads(value)


def sqlite_alert(row: Mapping[str, Any]) -> StoredAlert:
    return stored_alert(row, time=from_text, json=_json)


def ping(connection: sqlite3.Connection) -> None:
    connection.execute(SELECT_SCHEMA_VERSION).fetchone()
