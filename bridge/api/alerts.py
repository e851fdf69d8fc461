"""``GET /api/v1/alerts``: alert instances, newest first, filtered and paginated.

Query parameters: ``status`` (firing|resolved), ``severity``, ``rule_id``, ``limit`` (1-1000,
default 100) and ``cursor`` (the previous page's ``next_cursor``). Unknown parameters are a 400,
so a typo never silently returns everything.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from aiohttp import hdrs, web
from multidict import MultiMapping

from bridge.api.cursor import BadCursor, decode_cursor, encode_cursor
from bridge.keys import API_AUTH, STORE
from bridge.store import StoreUnavailable
from bridge.store.base import ALERT_STATUSES, AlertQuery, AlertStatus, StoredAlert

DEFAULT_LIMIT = 100
MAX_LIMIT = 1000
KNOWN_PARAMETERS = frozenset({"status", "severity", "rule_id", "limit", "cursor"})


class BadQuery(ValueError):
    """A query parameter is wrong; the message names it."""


def parse_query(params: MultiMapping[str]) -> AlertQuery:
    unknown = sorted(set(params) - KNOWN_PARAMETERS)
    if unknown:
        raise BadQuery(f"unknown query parameter(s): {', '.join(unknown)}")
    status: AlertStatus | None = None
    if "status" in params:
        value = params["status"]
        if value not in ALERT_STATUSES:
            raise BadQuery(f"status: must be one of {', '.join(ALERT_STATUSES)}")
        status = "resolved" if value == "resolved" else "firing"
    limit = DEFAULT_LIMIT
    if "limit" in params:
        text = params["limit"]
        if not text.isdigit() or not 1 <= int(text) <= MAX_LIMIT:
            raise BadQuery(f"limit: must be a whole number from 1 to {MAX_LIMIT}")
        limit = int(text)
    before_id = None
    if "cursor" in params:
        try:
            before_id = decode_cursor(params["cursor"])
        except BadCursor as exc:
            raise BadQuery(str(exc)) from None
    return AlertQuery(
        status=status,
        severity=params.get("severity"),
        rule_id=params.get("rule_id"),
        before_id=before_id,
        limit=limit,
    )


def _time(value: datetime | None) -> str | None:
    return None if value is None else value.isoformat().replace("+00:00", "Z")


def alert_json(alert: StoredAlert) -> dict[str, Any]:
    return {
        "id": alert.id,
        "fingerprint": alert.fingerprint,
        "rule_id": alert.rule_id,
        "alertname": alert.alertname,
        "title": alert.title,
        "severity": alert.severity,
        "category": alert.category,
        "status": alert.status,
        "asset_id": alert.asset_id,
        "environment": alert.environment,
        "labels": dict(alert.labels),
        "annotations": dict(alert.annotations),
        "generator_url": alert.generator_url,
        "starts_at": _time(alert.starts_at),
        "ends_at": _time(alert.ends_at),
        "occurrence_count": alert.occurrence_count,
        "created_at": _time(alert.created_at),
        "updated_at": _time(alert.updated_at),
        "acknowledged_at": _time(alert.acknowledged_at),
        "resolved_at": _time(alert.resolved_at),
    }


async def list_alerts(request: web.Request) -> web.Response:
    authenticator = request.app[API_AUTH]
    if not authenticator.allows(request.headers.get(hdrs.AUTHORIZATION)):
        return authenticator.challenge()
    try:
        query = parse_query(request.query)
    except BadQuery as exc:
        return web.json_response({"error": str(exc)}, status=400)
    try:
        page = await request.app[STORE].list_alerts(query)
    except StoreUnavailable:
        return web.json_response({"error": "alert store unavailable; retry later"}, status=503)
    return web.json_response(
        {
            "alerts": [alert_json(alert) for alert in page.alerts],
            "next_cursor": (
                encode_cursor(page.next_before_id) if page.next_before_id is not None else None
            ),
        }
    )
