"""A fake PagerDuty Events API v2 (``POST /v2/enqueue``) that keeps incidents by ``dedup_key``.

Follows https://developer.pagerduty.com/docs/events-api-v2/trigger-events/ (and the
acknowledge-events and resolve-events pages next to it):

- 202 ``{"status": "success", "message": "Event processed", "dedup_key": "…"}``;
- 400 ``{"status": "invalid event", "message": "Event object is invalid", "errors": [...]}``
  for an unknown ``routing_key``, a bad ``event_action``, a trigger without
  ``payload.summary``/``source``/``severity``, or an ack/resolve without ``dedup_key``;
- 429 when throttled (scripted with :meth:`FakeService.fail`).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

from bridge.fakes.base import FakeService, Fault

SEVERITIES = {"critical", "error", "warning", "info"}
STATES = {"trigger": "triggered", "acknowledge": "acknowledged", "resolve": "resolved"}


@dataclass
class FakePagerDuty(FakeService):
    routing_keys: set[str] = field(default_factory=lambda: {"R0UTINGKEY0000000000000000000000"})
    incidents: dict[str, str] = field(default_factory=dict)  # dedup_key -> state
    events: list[dict[str, Any]] = field(default_factory=list)

    def add_routes(self, app: web.Application) -> None:
        app.router.add_post("/v2/enqueue", self._enqueue)

    def fault_body(self, fault: Fault) -> Any:
        if fault.body is not None:
            return fault.body
        if fault.status == 400:
            return _invalid("scripted invalid event")
        return {"status": "throttle" if fault.status == 429 else "error", "message": "scripted"}

    async def _enqueue(self, request: web.Request) -> web.Response:
        try:
            event = await request.json()
        except ValueError:
            return web.json_response(_invalid("Invalid JSON"), status=400)
        errors = self._problems(event)
        if errors:
            return web.json_response(_invalid(*errors), status=400)
        action = event["event_action"]
        dedup_key = event.get("dedup_key") or uuid.uuid4().hex
        self.events.append(event)
        current = self.incidents.get(dedup_key)
        if action == "trigger":
            # Re-triggering an open incident changes nothing (an ack stays an ack).
            if current in (None, "resolved"):
                self.incidents[dedup_key] = "triggered"
        elif current not in (None, "resolved"):
            # Acks/resolves of unknown or resolved keys are accepted and ignored, as PagerDuty does.
            self.incidents[dedup_key] = STATES[action]
        return web.json_response(
            {"status": "success", "message": "Event processed", "dedup_key": dedup_key},
            status=202,
        )

    def _problems(self, event: Any) -> list[str]:
        if not isinstance(event, dict):
            return ["Event must be a JSON object"]
        if event.get("routing_key") not in self.routing_keys:
            return ["Invalid routing key"]
        action = event.get("event_action")
        if action not in STATES:
            return ["'event_action' is invalid (must be one of: trigger, acknowledge, resolve)"]
        if action != "trigger":
            return [] if event.get("dedup_key") else ["'dedup_key' is missing or blank"]
        payload = event.get("payload")
        if not isinstance(payload, dict):
            return ["'payload' is missing or blank"]
        problems = [
            f"'payload.{k}' is missing or blank"
            for k in ("summary", "source")
            if not payload.get(k)
        ]
        if payload.get("severity") not in SEVERITIES:
            problems.append("'payload.severity' is invalid")
        return problems


def _invalid(*errors: str) -> dict[str, Any]:
    return {"status": "invalid event", "message": "Event object is invalid", "errors": list(errors)}
