"""``POST /api/v1/alerts/{id}/ack``, ``/resolve`` and ``/suppress``: the lifecycle by hand.

Body: ``{"by": "alice", "comment": "..."}``; suppress also takes ``duration`` ("4h") and
``create_silence`` (true: silence the alert's exact labels in Alertmanager too). Unknown ids
are 404, actions the alert's status does not allow (acknowledging a resolved alert) are 409.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

from aiohttp import web
from pydantic import ValidationError

from bridge.alertmanager import describe
from bridge.api.common import alert_id, error, store_unavailable, unauthorized
from bridge.api.models import Action, Suppress, parse_duration
from bridge.api.render import alert_json
from bridge.keys import CONFIG, HTTP_CLIENT, METRICS, STORE
from bridge.silences import SilenceError, create_silence, silence_body
from bridge.store import StoreUnavailable
from bridge.store.base import StoredAlert
from bridge.store.records import (
    TRANSITIONS,
    AlertNotFound,
    InvalidTransition,
    Transition,
)
from bridge.store.records import Action as ActionName


class _Refused(Exception):
    def __init__(self, response: web.Response) -> None:
        self.response = response


async def _body(request: web.Request, model: type[Action]) -> Action:
    raw = await request.read()
    try:
        return model.model_validate_json(raw or b"{}")
    except ValidationError as exc:
        problems = describe(exc)
        raise _Refused(error(400, f"invalid request body: {problems[0]}", problems)) from None


async def _silence(request: web.Request, wanted: int, body: Suppress, now: datetime) -> str:
    """Create the Alertmanager silence for a suppress request; returns its id."""
    config = request.app[CONFIG]
    if config.alertmanager_url is None:
        raise _Refused(error(400, "create_silence: the bridge has no alertmanager_url configured"))
    detail = await request.app[STORE].get_alert(wanted)
    if detail is None:
        raise _Refused(error(404, f"no alert with id {wanted}"))
    allowed, _ = TRANSITIONS["suppress"]
    if detail.alert.status not in allowed:
        raise _Refused(error(409, f"alert {wanted} is {detail.alert.status}: cannot suppress it"))
    duration = (
        parse_duration(body.duration)
        if body.duration
        else timedelta(seconds=config.lifecycle.default_silence_seconds)
    )
    comment = body.comment or f"secmon alert #{wanted} suppressed by {body.by}"
    payload = silence_body(
        detail.alert.labels,
        starts_at=now,
        ends_at=now + duration,
        created_by=body.by,
        comment=comment,
    )
    try:
        return await create_silence(request.app[HTTP_CLIENT], config.alertmanager_url, payload)
    except SilenceError as exc:
        raise _Refused(error(502, f"silence not created: {exc}")) from None


def _observe(request: web.Request, alert: StoredAlert) -> None:
    metrics = request.app[METRICS]
    if alert.status == "acknowledged" and alert.acknowledged_at is not None:
        metrics.observe_acknowledged(
            alert.severity, (alert.acknowledged_at - alert.created_at).total_seconds()
        )
    elif alert.status == "resolved" and alert.resolved_at is not None:
        metrics.observe_resolved(
            alert.severity, (alert.resolved_at - alert.created_at).total_seconds()
        )


async def _act(request: web.Request, action: ActionName) -> web.Response:
    if (denied := unauthorized(request)) is not None:
        return denied
    wanted = alert_id(request)
    if wanted is None:
        return error(404, f"no alert with id {request.match_info['id']}")
    now = datetime.now(UTC)
    try:
        body = await _body(request, Suppress if action == "suppress" else Action)
        until = silence_id = None
        if isinstance(body, Suppress):
            until = now + parse_duration(body.duration) if body.duration else None
            if body.create_silence:
                silence_id = await _silence(request, wanted, body, now)
        change = Transition(
            alert_id=wanted,
            action=action,
            by=body.by,
            at=now,
            comment=body.comment,
            until=until,
            silence_id=silence_id,
        )
        alert = await request.app[STORE].transition(change)
    except _Refused as refused:
        return refused.response
    except AlertNotFound:
        return error(404, f"no alert with id {wanted}")
    except InvalidTransition as exc:
        return error(409, str(exc))
    except StoreUnavailable:
        return store_unavailable()
    except json.JSONDecodeError:
        return error(400, "invalid request body: not JSON")
    _observe(request, alert)
    return web.json_response(alert_json(alert))


async def acknowledge(request: web.Request) -> web.Response:
    return await _act(request, "acknowledge")


async def resolve(request: web.Request) -> web.Response:
    return await _act(request, "resolve")


async def suppress(request: web.Request) -> web.Response:
    return await _act(request, "suppress")
