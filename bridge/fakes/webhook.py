"""A generic webhook sink: accepts any ``POST``, records it, optionally checks the signature.

With ``secret`` set it verifies ``X-Secmon-Signature``/``X-Secmon-Timestamp`` exactly as
receivers are told to in docs/notifications.md (:func:`bridge.notify.webhook.verify_signature`)
and answers 401 when they do not match; otherwise 200 ``{"ok": true}``.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

from aiohttp import web

from bridge.fakes.base import FakeService
from bridge.notify.webhook import SIGNATURE_HEADER, TIMESTAMP_HEADER, verify_signature


@dataclass
class FakeWebhookSink(FakeService):
    secret: str | None = None
    verified: list[bytes] = field(default_factory=list)

    def add_routes(self, app: web.Application) -> None:
        app.router.add_post("/{tail:.*}", self._receive)

    async def _receive(self, request: web.Request) -> web.Response:
        body = await request.read()
        if self.secret is not None:
            ok = verify_signature(
                secret=self.secret,
                timestamp=request.headers.get(TIMESTAMP_HEADER, ""),
                signature=request.headers.get(SIGNATURE_HEADER, ""),
                body=body,
                now=time.time(),
            )
            if not ok:
                return web.json_response({"error": "bad signature"}, status=401)
            self.verified.append(body)
        return web.json_response({"ok": True})
