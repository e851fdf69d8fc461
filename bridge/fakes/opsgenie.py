"""A fake Opsgenie Alert API: create, acknowledge and close, with alias de-duplication.

Follows https://docs.opsgenie.com/docs/alert-api (Create Alert, Acknowledge Alert, Close
Alert) and https://docs.opsgenie.com/docs/authentication:

- ``POST /v2/alerts`` — ``message`` required (422 otherwise); an open alert with the same
  ``alias`` is de-duplicated (its ``count`` goes up) instead of creating a second one;
- ``POST /v2/alerts/{identifier}/acknowledge|close?identifierType=alias|id``;
- every accepted request: 202 ``{"result": "Request will be processed", "took": …,
  "requestId": "…"}``; a missing or unknown ``Authorization: GenieKey …``: 401.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

from bridge.fakes.base import FakeService, Fault


@dataclass
class OpsgenieAlert:
    id: str
    alias: str
    message: str
    priority: str
    status: str = "open"
    acknowledged: bool = False
    count: int = 1
    body: dict[str, Any] = field(default_factory=dict)


@dataclass
class FakeOpsgenie(FakeService):
    api_key: str = "0pS-g3n1e-test-key"
    alerts: dict[str, OpsgenieAlert] = field(default_factory=dict)  # by alias

    def add_routes(self, app: web.Application) -> None:
        app.router.add_post("/v2/alerts", self._create)
        app.router.add_post("/v2/alerts/{identifier}/{action:acknowledge|close}", self._act)

    def fault_body(self, fault: Fault) -> Any:
        return fault.body if fault.body is not None else _answer(f"scripted {fault.status}")

    def _authorized(self, request: web.Request) -> bool:
        return request.headers.get("Authorization", "") == f"GenieKey {self.api_key}"

    async def _create(self, request: web.Request) -> web.Response:
        if not self._authorized(request):
            return _unauthorized()
        body = await request.json()
        if not body.get("message"):
            answer = _answer("Request body is not processable. Please check the errors.")
            answer["errors"] = {"message": "Message can not be empty."}
            return web.json_response(answer, status=422)
        alias = str(body.get("alias") or uuid.uuid4().hex)
        existing = self.alerts.get(alias)
        if existing is not None and existing.status == "open":
            existing.count += 1
        else:
            self.alerts[alias] = OpsgenieAlert(
                id=uuid.uuid4().hex,
                alias=alias,
                message=str(body["message"]),
                priority=str(body.get("priority", "P3")),
                body=body,
            )
        return web.json_response(_answer("Request will be processed"), status=202)

    async def _act(self, request: web.Request) -> web.Response:
        if not self._authorized(request):
            return _unauthorized()
        identifier = request.match_info["identifier"]
        kind = request.query.get("identifierType", "id")
        alert = (
            self.alerts.get(identifier)
            if kind == "alias"
            else next((a for a in self.alerts.values() if a.id == identifier), None)
        )
        # Opsgenie processes asynchronously: an unknown alert is still answered with 202.
        if alert is not None:
            if request.match_info["action"] == "acknowledge":
                alert.acknowledged = True
            else:
                alert.status = "closed"
        return web.json_response(_answer("Request will be processed"), status=202)


def _answer(result: str) -> dict[str, Any]:
    return {"result": result, "took": 0.01, "requestId": str(uuid.uuid4())}


def _unauthorized() -> web.Response:
    body = {"message": "Could not authenticate", "took": 0.0, "requestId": str(uuid.uuid4())}
    return web.json_response(body, status=401)
