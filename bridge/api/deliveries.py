"""Delivery log and dead letters over the API, and message updates after lifecycle actions.

- ``GET /api/v1/alerts/{id}/notifications``: every delivery attempt for the alert;
- ``GET /api/v1/dead-letters``: deliveries that failed for good (``?channel=``, ``?limit=``);
- ``POST /api/v1/dead-letters/{id}/replay``: take the letter (atomically: two replicas never
  replay one letter twice) and deliver it again in the background (202); if that fails it
  becomes a new dead letter.
"""

from __future__ import annotations

import functools
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web

from bridge.api.common import alert_id, error, store_unavailable, unauthorized
from bridge.escalation.runtime import HUB
from bridge.notify.delivery import DeadLetter, DeliveryAttempt
from bridge.store import StoreUnavailable

Handler = Callable[[web.Request], Awaitable[web.Response]]


def _attempt_json(a: DeliveryAttempt) -> dict[str, Any]:
    return {
        "channel": a.channel,
        "operation": a.operation,
        "attempt": a.attempt,
        "outcome": a.outcome.value,
        "status": a.status,
        "latency_seconds": a.latency_seconds,
        "error": a.error,
        "at": a.at,
    }


def _letter_json(letter: DeadLetter) -> dict[str, Any]:
    return {
        "id": letter.id,
        "channel": letter.channel,
        "alert_id": letter.payload.alert_id,
        "operation": letter.payload.operation,
        "reason": letter.reason,
        "status": letter.status,
        "attempts": letter.attempts,
        "created_at": letter.created_at,
    }


async def alert_notifications(request: web.Request) -> web.Response:
    if (denied := unauthorized(request)) is not None:
        return denied
    wanted = alert_id(request)
    deliverer = request.app[HUB].deliverer
    if wanted is None or deliverer is None:
        return error(404, f"no alert with id {request.match_info['id']}")
    try:
        attempts = await deliverer.log.attempts(alert_id=str(wanted))
    except StoreUnavailable:
        return store_unavailable()
    return web.json_response({"attempts": [_attempt_json(a) for a in attempts]})


async def list_dead_letters(request: web.Request) -> web.Response:
    if (denied := unauthorized(request)) is not None:
        return denied
    deliverer = request.app[HUB].deliverer
    limit_text = request.query.get("limit", "100")
    if not limit_text.isdigit() or not 1 <= int(limit_text) <= 1000:
        return error(400, "limit must be an integer from 1 to 1000")
    if deliverer is None:
        return web.json_response({"dead_letters": []})
    try:
        letters = await deliverer.dead_letters.list(
            channel=request.query.get("channel"), limit=int(limit_text)
        )
    except StoreUnavailable:
        return store_unavailable()
    return web.json_response({"dead_letters": [_letter_json(x) for x in letters]})


async def replay_dead_letter(request: web.Request) -> web.Response:
    if (denied := unauthorized(request)) is not None:
        return denied
    hub, wanted = request.app[HUB], request.match_info["id"]
    if hub.deliverer is None or hub.dispatcher is None:
        return error(404, f"no dead letter {wanted}")
    try:
        taken = await hub.deliverer.dead_letters.take(ids=[wanted])
    except StoreUnavailable:
        return store_unavailable()
    if not taken:
        return error(404, f"no dead letter {wanted}")
    letter = taken[0]
    if letter.channel not in hub.deliverer.notifiers:
        await hub.deliverer.dead_letters.add(letter)  # keep it rather than lose it
        return error(409, f"channel {letter.channel!r} is no longer configured")

    async def deliver() -> None:
        assert hub.deliverer is not None  # checked above; the hub lives as long as the app
        await hub.deliverer.deliver_payload(payload=letter.payload)

    hub.dispatcher.spawn(deliver())
    return web.json_response(
        {"id": letter.id, "channel": letter.channel, "queued": True}, status=202
    )


def updating_messages(handler: Handler) -> Handler:
    """Wrap a lifecycle handler: after a successful ack/resolve, update the sent messages."""

    @functools.wraps(handler)
    async def wrapped(request: web.Request) -> web.Response:
        response = await handler(request)
        dispatcher = request.app[HUB].dispatcher
        wanted = alert_id(request)
        if response.status == 200 and dispatcher is not None and wanted is not None:
            dispatcher.update(wanted)
        return response

    return wrapped
