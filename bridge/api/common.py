"""What every ``/api/v1/`` handler shares: the token check and error responses."""

from __future__ import annotations

from aiohttp import hdrs, web

from bridge.keys import API_AUTH


def error(status: int, message: str, details: list[str] | None = None) -> web.Response:
    body: dict[str, object] = {"error": message}
    if details:
        body["details"] = details
    return web.json_response(body, status=status)


def unauthorized(request: web.Request) -> web.Response | None:
    """The 401 to send, or None when the request carries the API token."""
    authenticator = request.app[API_AUTH]
    if authenticator.allows(request.headers.get(hdrs.AUTHORIZATION)):
        return None
    return authenticator.challenge()


def store_unavailable() -> web.Response:
    response = error(503, "alert store unavailable; retry later")
    response.headers[hdrs.RETRY_AFTER] = "5"
    return response


def alert_id(request: web.Request) -> int | None:
    """The ``{id}`` path segment as an alert id, or None when it cannot be one."""
    text = request.match_info["id"]
    return int(text) if text.isdigit() and len(text) < 19 else None
