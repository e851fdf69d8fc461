"""A fake Slack Web API: ``chat.postMessage`` and ``chat.update``, as slack-sdk calls them.

Shapes follow Slack's method pages:

- https://api.slack.com/methods/chat.postMessage — ``channel`` (id or name), ``text``,
  ``blocks``, ``thread_ts``; answers ``{"ok": true, "channel": "C…", "ts": "…", "message": {…}}``
- https://api.slack.com/methods/chat.update — ``channel`` (an id), ``ts``, ``text``, ``blocks``;
  ``message_not_found`` for an unknown ts
- https://api.slack.com/web#slack-web-api__evaluating-responses — HTTP 200 with
  ``{"ok": false, "error": "…"}`` for errors (``not_authed``, ``invalid_auth``,
  ``channel_not_found``, ``no_text``)
- https://api.slack.com/apis/rate-limits — HTTP 429, ``Retry-After`` seconds,
  ``{"ok": false, "error": "ratelimited"}``

Requests arrive as JSON (slack-sdk's ``json=``) or form-encoded, with ``Authorization: Bearer``.
Tests script failures with :meth:`FakeService.fail` and read :attr:`FakeSlack.messages`.

Run on its own (``make run`` and the end-to-end tests do), with the control API of
:mod:`bridge.fakes.base` plus ``GET /__fake__/messages`` (every message as it reads now: channel,
ts, text, blocks, thread_ts, edits)::

    python -m bridge.fakes.slack --listen 127.0.0.1:18010 --token xoxb-demo \
        --channel security-critical=C0SECCRIT
"""

from __future__ import annotations

import argparse
import ipaddress
import itertools
from dataclasses import asdict, dataclass, field
from typing import Any

from aiohttp import web

from bridge.fakes.base import FakeService, Fault

BOT_USER = "U0SECMONBOT"


@dataclass
class SlackMessage:
    channel: str
    ts: str
    text: str
    blocks: list[Any]
    thread_ts: str | None = None
    edits: int = 0


@dataclass
class FakeSlack(FakeService):
    token: str = "xoxb-test-token"  # noqa: S105 - the fake's well-known test credential
    channels: dict[str, str] = field(
        default_factory=lambda: {"security-critical": "C0SECCRIT", "devops": "C0DEVOPS"}
    )
    messages: dict[tuple[str, str], SlackMessage] = field(default_factory=dict)
    _counter: itertools.count[int] = field(default_factory=lambda: itertools.count(1))

    def add_routes(self, app: web.Application) -> None:
        app.router.add_post("/api/chat.postMessage", self._post_message)
        app.router.add_post("/api/chat.update", self._update)
        app.router.add_get("/__fake__/messages", self._control_messages)

    async def _control_messages(self, _request: web.Request) -> web.Response:
        return web.json_response([asdict(m) for m in self.messages.values()])

    def fault_body(self, fault: Fault) -> Any:
        if fault.body is not None:
            return fault.body
        error = "ratelimited" if fault.status == 429 else "internal_error"
        return {"ok": False, "error": error}

    def thread(self, channel_id: str, ts: str) -> list[SlackMessage]:
        return [m for m in self.messages.values() if m.channel == channel_id and m.thread_ts == ts]

    def _channel_id(self, value: str) -> str | None:
        name = value.lstrip("#")
        if name in self.channels:
            return self.channels[name]
        return value if value in self.channels.values() else None

    async def _args(self, request: web.Request) -> dict[str, Any] | web.Response:
        auth = request.headers.get("Authorization", "")
        if not auth.startswith("Bearer "):
            return web.json_response({"ok": False, "error": "not_authed"})
        if auth.removeprefix("Bearer ") != self.token:
            return web.json_response({"ok": False, "error": "invalid_auth"})
        if request.content_type == "application/json":
            data: dict[str, Any] = await request.json()
            return data
        return dict(await request.post())

    async def _post_message(self, request: web.Request) -> web.Response:
        args = await self._args(request)
        if isinstance(args, web.Response):
            return args
        channel = self._channel_id(str(args.get("channel", "")))
        if channel is None:
            return web.json_response({"ok": False, "error": "channel_not_found"})
        if not args.get("text") and not args.get("blocks"):
            return web.json_response({"ok": False, "error": "no_text"})
        n = next(self._counter)
        ts = f"{1_700_000_000 + n}.{n:06d}"
        message = SlackMessage(
            channel, ts, str(args.get("text", "")), list(args.get("blocks") or []),
            thread_ts=args.get("thread_ts"),
        )  # fmt: skip
        self.messages[(channel, ts)] = message
        return web.json_response(
            {"ok": True, "channel": channel, "ts": ts, "message": _shape(message)}
        )

    async def _update(self, request: web.Request) -> web.Response:
        args = await self._args(request)
        if isinstance(args, web.Response):
            return args
        channel = str(args.get("channel", ""))
        if channel not in self.channels.values():
            return web.json_response({"ok": False, "error": "channel_not_found"})
        message = self.messages.get((channel, str(args.get("ts", ""))))
        if message is None:
            return web.json_response({"ok": False, "error": "message_not_found"})
        message.text = str(args.get("text", message.text))
        message.blocks = list(args.get("blocks") or message.blocks)
        message.edits += 1
        return web.json_response(
            {"ok": True, "channel": channel, "ts": message.ts, "text": message.text,
             "message": _shape(message)}
        )  # fmt: skip


def _shape(message: SlackMessage) -> dict[str, Any]:
    shaped: dict[str, Any] = {
        "type": "message",
        "user": BOT_USER,
        "text": message.text,
        "blocks": message.blocks,
        "ts": message.ts,
    }
    if message.thread_ts:
        shaped["thread_ts"] = message.thread_ts
    return shaped


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="A fake Slack Web API for tests and the demo.")
    parser.add_argument("--listen", default="127.0.0.1:18010", metavar="HOST:PORT")
    parser.add_argument("--token", default=FakeSlack.token, help="the bot token it accepts")
    parser.add_argument(
        "--channel",
        action="append",
        default=[],
        metavar="NAME=ID",
        help="a channel it knows (repeatable; default security-critical and devops)",
    )
    args = parser.parse_args(argv)
    host, _, port = args.listen.rpartition(":")
    host = host.strip("[]")
    if not (host == "localhost" or ipaddress.ip_address(host).is_loopback):
        parser.error("the fake only binds loopback addresses")
    fake = FakeSlack(token=args.token)
    if args.channel:
        pairs = [value.partition("=") for value in args.channel]
        if any(not name or not cid for name, _, cid in pairs):
            parser.error("--channel takes NAME=ID")
        fake.channels = {name.lstrip("#"): cid for name, _, cid in pairs}
    print(f"fake Slack Web API on http://{args.listen}/api/", flush=True)
    web.run_app(fake.make_app(), host=host, port=int(port), print=None)


if __name__ == "__main__":
    main()
