"""``GET /api/v1/alerts`` (filtered, paginated) and ``GET /api/v1/alerts/{id}`` (one, in full).

List parameters: ``status`` (open|acknowledged|resolved|suppressed), ``severity``, ``rule_id``,
``asset``, ``since`` (RFC 3339: created at or after), ``limit`` (1-1000, default 100) and
``cursor`` (the previous page's ``next_cursor``). Unknown parameters are a 400, so a typo never
silently returns everything.
"""

from __future__ import annotations

from datetime import datetime

from aiohttp import web
from multidict import MultiMapping

from bridge.api.common import alert_id, error, store_unavailable, unauthorized
from bridge.api.cursor import BadCursor, decode_cursor, encode_cursor
from bridge.api.render import alert_json, detail_json
from bridge.keys import STORE
from bridge.store import StoreUnavailable
from bridge.store.base import AlertQuery
from bridge.store.records import LIFECYCLE_STATUSES, LifecycleStatus

DEFAULT_LIMIT = 100
MAX_LIMIT = 1000
KNOWN_PARAMETERS = frozenset({"status", "severity", "rule_id", "asset", "since", "limit", "cursor"})


class BadQuery(ValueError):
    """A query parameter is wrong; the message names it."""


def _status(value: str) -> LifecycleStatus:
    for status in LIFECYCLE_STATUSES:
        if value == status:
            return status
    raise BadQuery(f"status: must be one of {', '.join(LIFECYCLE_STATUSES)}")


def _since(value: str) -> datetime:
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        raise BadQuery("since: must be an RFC 3339 time, e.g. 2026-11-25T09:00:00Z") from None
    if parsed.tzinfo is None:
        raise BadQuery("since: needs a time zone offset (Z or ±hh:mm)")
    return parsed


def parse_query(params: MultiMapping[str]) -> AlertQuery:
    unknown = sorted(set(params) - KNOWN_PARAMETERS)
    if unknown:
        raise BadQuery(f"unknown query parameter(s): {', '.join(unknown)}")
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
        status=_status(params["status"]) if "status" in params else None,
        severity=params.get("severity"),
        rule_id=params.get("rule_id"),
        asset_id=params.get("asset"),
        since=_since(params["since"]) if "since" in params else None,
        before_id=before_id,
        limit=limit,
    )


async def list_alerts(request: web.Request) -> web.Response:
    if (denied := unauthorized(request)) is not None:
        return denied
    try:
        query = parse_query(request.query)
    except BadQuery as exc:
        return error(400, str(exc))
    try:
        page = await request.app[STORE].list_alerts(query)
    except StoreUnavailable:
        return store_unavailable()
    return web.json_response(
        {
            "alerts": [alert_json(alert) for alert in page.alerts],
            "next_cursor": (
                encode_cursor(page.next_before_id) if page.next_before_id is not None else None
            ),
        }
    )


async def get_alert(request: web.Request) -> web.Response:
    if (denied := unauthorized(request)) is not None:
        return denied
    wanted = alert_id(request)
    try:
        detail = None if wanted is None else await request.app[STORE].get_alert(wanted)
    except StoreUnavailable:
        return store_unavailable()
    if detail is None:
        return error(404, f"no alert with id {request.match_info['id']}")
    return web.json_response(detail_json(detail))
