"""A fake Twilio REST API: the Messages and Calls resources of an account.

Follows https://www.twilio.com/docs/messaging/api/message-resource#create-a-message-resource
and https://www.twilio.com/docs/voice/api/call-resource#create-a-call-resource: form-encoded
``To``, ``From`` and ``Body`` (SMS) or ``Twiml``/``Url`` (call), HTTP basic auth with the
Account SID and auth token; 201 with the resource (``sid`` ``SM…``/``CA…``, ``status``
``queued``). Errors as https://www.twilio.com/docs/usage/twilios-response#response-formats-exceptions
``{code, message, more_info, status}``: 401/20003 for bad credentials, 400/21211 for an
invalid ``To``, 400/21604 for a missing ``Body``, 429/20429 when throttled.
"""

from __future__ import annotations

import base64
import itertools
import re
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

from bridge.fakes.base import FakeService, Fault

E164 = re.compile(r"^\+[1-9]\d{6,14}$")


@dataclass
class FakeTwilio(FakeService):
    account_sid: str = "AC00000000000000000000000000000000"
    auth_token: str = "twilio-auth-token-0000"  # noqa: S105 - the fake's well-known test credential
    messages: list[dict[str, str]] = field(default_factory=list)
    calls: list[dict[str, str]] = field(default_factory=list)
    _counter: itertools.count[int] = field(default_factory=lambda: itertools.count(1))

    def add_routes(self, app: web.Application) -> None:
        base = "/2010-04-01/Accounts/{sid}"
        app.router.add_post(base + "/Messages.json", self._message)
        app.router.add_post(base + "/Calls.json", self._call)

    def fault_body(self, fault: Fault) -> Any:
        if fault.body is not None:
            return fault.body
        code = 20429 if fault.status == 429 else 20500
        return _error(code, "scripted failure", fault.status)

    def _check(self, request: web.Request) -> web.Response | None:
        expected = base64.b64encode(f"{self.account_sid}:{self.auth_token}".encode()).decode()
        if request.match_info["sid"] != self.account_sid or (
            request.headers.get("Authorization") != f"Basic {expected}"
        ):
            return web.json_response(_error(20003, "Authenticate", 401), status=401)
        return None

    async def _create(self, request: web.Request, prefix: str, need: str) -> web.Response:
        refused = self._check(request)
        if refused is not None:
            return refused
        form = {k: str(v) for k, v in (await request.post()).items()}
        if not E164.match(form.get("To", "")):
            message = f"The 'To' number {form.get('To', '')} is not a valid phone number."
            return web.json_response(_error(21211, message, 400), status=400)
        if not form.get(need) and not form.get("Url"):
            return web.json_response(_error(21604, f"A '{need}' is required.", 400), status=400)
        sid = f"{prefix}{next(self._counter):032x}"
        record = {"sid": sid, **form}
        (self.messages if prefix == "SM" else self.calls).append(record)
        resource = {
            "sid": sid,
            "account_sid": self.account_sid,
            "to": form["To"],
            "from": form.get("From"),
            "status": "queued",
            "uri": f"{request.path.removesuffix('.json')}/{sid}.json",
        }
        if prefix == "SM":
            resource["body"] = form.get("Body")
        return web.json_response(resource, status=201)

    async def _message(self, request: web.Request) -> web.Response:
        return await self._create(request, "SM", "Body")

    async def _call(self, request: web.Request) -> web.Response:
        return await self._create(request, "CA", "Twiml")


def _error(code: int, message: str, status: int) -> dict[str, Any]:
    return {
        "code": code,
        "message": message,
        "more_info": f"https://www.twilio.com/docs/errors/{code}",
        "status": status,
    }
