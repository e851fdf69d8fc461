"""SQL and row mapping for the SQLite store; every function here runs on a worker thread.

Statements go one alert at a time: SQLite runs in-process, so a statement costs microseconds
and there is no network round trip to batch away. The whole delivery still commits at once.
A delivery stores the payload and the receipts; the pipeline's write creates the instances.
"""

from __future__ import annotations

import functools
import sqlite3
from collections import Counter
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

from bridge.jsontext import loads
from bridge.store.base import (
    AlertPage,
    AlertQuery,
    AlertStatus,
    Delivery,
    ReceiptOutcome,
    ReceiptResult,
    StoredAlert,
    results_in_order,
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
INSERT INTO alert_receipts (fingerprint, starts_at, status, payload_id, received_count,
                            first_received_at, last_received_at, instance_id)
VALUES (?, ?, ?, ?, ?, ?, ?, ?)
ON CONFLICT (fingerprint, starts_at, status) DO UPDATE
    SET received_count = received_count + excluded.received_count,
        last_received_at = excluded.last_received_at
RETURNING received_count, instance_id"""

_INSERT_PENDING = """
INSERT OR IGNORE INTO pending_receipts (fingerprint, starts_at, status, payload_id,
                                        first_received_at)
VALUES (?, ?, ?, ?, ?)"""

# The instance id a receipt of a known instance carries: its other receipt's.
_KNOWN_INSTANCE = (
    "SELECT instance_id FROM alert_receipts WHERE fingerprint = ? AND starts_at = ? LIMIT 1"
)
# A new instance's id, reserved from the table's AUTOINCREMENT counter (migration 0011).
_NEXT_INSTANCE_ID = (
    "UPDATE sqlite_sequence SET seq = seq + 1 WHERE name = 'alert_instances' RETURNING seq"
)


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
    """Store the payload and its alerts' receipts; the caller owns the transaction."""
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
    outcomes: dict[tuple[str, datetime, AlertStatus], ReceiptOutcome] = {}
    pending: list[tuple[str, str | None, str, int, str | None]] = []
    multiplicity = Counter(alert.receipt_key for alert in delivery.alerts)
    for alert in delivery.alerts:
        if alert.receipt_key in outcomes:
            continue  # repeated inside the delivery: counted by its multiplicity
        starts = to_text(alert.starts_at)
        known = connection.execute(_KNOWN_INSTANCE, (alert.fingerprint, starts)).fetchone()
        allocated = connection.execute(_NEXT_INSTANCE_ID).fetchone() if known is None else known
        times = multiplicity[alert.receipt_key]
        count, instance_id = connection.execute(
            _UPSERT_RECEIPT,
            (alert.fingerprint, starts, alert.status, payload_id, times, received, received,
             allocated[0]),
        ).fetchone()  # fmt: skip
        inserted = count == times  # a stored receipt had been counted at least once before
        outcomes[alert.receipt_key] = ReceiptOutcome(instance_id, inserted, known is None)
        if inserted:
            # Work for the pipeline: one row per new receipt, deleted by the pipeline's write.
            pending.append((alert.fingerprint, starts, alert.status, payload_id, received))
    connection.executemany(_INSERT_PENDING, pending)
    return results_in_order(delivery, outcomes)


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
