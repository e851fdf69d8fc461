"""The shared collector API client against a real local HTTP server."""

from __future__ import annotations

import asyncio
import email.utils
from collections.abc import AsyncIterator
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer

from exporter.collectors.base import CollectorError
from exporter.collectors.httpapi import ApiClient, next_link, parse_retry_after, redact

TOKEN = "ghp_super_secret_token_value"


def make_app(seen: list[dict[str, Any]]) -> web.Application:
    async def etag(request: web.Request) -> web.Response:
        seen.append(dict(request.headers))
        if request.headers.get("If-None-Match") == '"v1"':
            return web.Response(status=304)
        return web.json_response(
            {"n": 1}, headers={"ETag": '"v1"', "X-RateLimit-Remaining": "4999"}
        )

    async def limited(request: web.Request) -> web.Response:
        return web.json_response(
            {"message": "rate limited"},
            status=403,
            headers={"X-RateLimit-Remaining": "0", "X-RateLimit-Reset": "2000000030"},
        )

    async def busy(request: web.Request) -> web.Response:
        return web.Response(status=429, headers={"Retry-After": "7"})

    async def broken(request: web.Request) -> web.Response:
        return web.Response(text="{not json", content_type="application/json")

    async def slow(request: web.Request) -> web.Response:
        await asyncio.sleep(2)
        return web.json_response({})

    async def linked(request: web.Request) -> web.Response:
        page = int(request.query.get("page", "1"))
        headers = {}
        if page < 3:
            headers["Link"] = (
                f'<{request.url.with_query(page=page + 1)}>; rel="next", <x>; rel="last"'
            )
        return web.json_response([page], headers=headers)

    async def offset(request: web.Request) -> web.Response:
        at = int(request.query.get("offset", "0"))
        following = f"/offset?offset={at + 2}" if at < 4 else None
        return web.json_response({"data": [at, at + 1], "next": following})

    async def no_data(request: web.Request) -> web.Response:
        return web.json_response({"items": []})

    app = web.Application()
    for path, handler in {
        "/etag": etag,
        "/limited": limited,
        "/busy": busy,
        "/broken": broken,
        "/slow": slow,
        "/linked": linked,
        "/offset": offset,
        "/no-data": no_data,
    }.items():
        app.router.add_get(path, handler)
    return app


@pytest.fixture
async def served() -> AsyncIterator[tuple[ApiClient, list[dict[str, Any]]]]:
    seen: list[dict[str, Any]] = []
    server = TestServer(make_app(seen), host="127.0.0.1")
    await server.start_server()
    client = ApiClient(
        base_url=str(server.make_url("/")),
        headers={"Authorization": f"Bearer {TOKEN}"},
        timeout=0.5,
        clock=lambda: 2_000_000_000.0,
    )
    yield client, seen
    await client.close()
    await server.close()


async def test_conditional_get_sends_etag_and_serves_304_from_cache(
    served: tuple[ApiClient, list[dict[str, Any]]],
) -> None:
    client, seen = served
    first = await client.get("/etag", conditional=True)
    second = await client.get("/etag", conditional=True)
    assert (first.data, first.not_modified) == ({"n": 1}, False)
    assert (second.data, second.not_modified, second.status) == ({"n": 1}, True, 304)
    assert "If-None-Match" not in seen[0]
    assert seen[1]["If-None-Match"] == '"v1"'
    assert seen[1]["Authorization"] == f"Bearer {TOKEN}"
    assert client.stats.not_modified == 1
    assert client.rate_limit.remaining == 4999


async def test_exhausted_rate_limit_waits_until_reset(
    served: tuple[ApiClient, list[dict[str, Any]]],
) -> None:
    client, _ = served
    with pytest.raises(CollectorError) as caught:
        await client.get("/limited")
    assert caught.value.reason == "http_403"
    assert caught.value.retry_after == 30.0
    assert TOKEN not in str(caught.value)


async def test_retry_after_is_honoured_and_errors_are_classified(
    served: tuple[ApiClient, list[dict[str, Any]]],
) -> None:
    client, _ = served
    with pytest.raises(CollectorError) as busy:
        await client.get("/busy")
    assert (busy.value.reason, busy.value.retry_after) == ("http_429", 7.0)
    with pytest.raises(CollectorError) as broken:
        await client.get("/broken")
    assert broken.value.reason == "malformed"
    with pytest.raises(CollectorError) as slow:
        await client.get("/slow")
    assert slow.value.reason == "timeout"
    for error in (busy.value, broken.value, slow.value):
        assert TOKEN not in str(error)


async def test_connection_refused_is_a_connection_error() -> None:
    client = ApiClient(base_url="http://127.0.0.1:1/", headers={"X-Token": TOKEN}, timeout=1)
    try:
        with pytest.raises(CollectorError) as caught:
            await client.get("/anything")
    finally:
        await client.close()
    assert caught.value.reason == "connection"
    assert TOKEN not in str(caught.value)


async def test_link_pagination_follows_next_until_the_last_page(
    served: tuple[ApiClient, list[dict[str, Any]]],
) -> None:
    client, _ = served
    pages = [page.data async for page in client.paginate_links("/linked", params={"page": "1"})]
    assert pages == [[1], [2], [3]]


async def test_offset_pagination_yields_every_item(
    served: tuple[ApiClient, list[dict[str, Any]]],
) -> None:
    client, _ = served
    assert [item async for item in client.paginate_offset("/offset")] == [0, 1, 2, 3, 4, 5]
    with pytest.raises(CollectorError) as caught:
        _ = [item async for item in client.paginate_offset("/no-data")]
    assert caught.value.reason == "malformed"


async def test_page_limit_stops_endless_pagination(
    served: tuple[ApiClient, list[dict[str, Any]]],
) -> None:
    client, _ = served
    client._max_pages = 2
    with pytest.raises(CollectorError) as caught:
        _ = [page async for page in client.paginate_links("/linked", params={"page": "1"})]
    assert caught.value.reason == "pagination"


def test_header_parsers_and_redaction() -> None:
    assert parse_retry_after("120", now=0) == 120.0
    date = email.utils.formatdate(1_000_060, usegmt=True)
    assert parse_retry_after(date, now=1_000_000) == 60.0
    assert parse_retry_after("soon", now=0) is None
    assert next_link('<https://api/x?page=2>; rel="next", <https://api/x?page=9>; rel="last"') == (
        "https://api/x?page=2"
    )
    assert next_link('<https://api/x?page=9>; rel="last"') is None
    assert (
        redact("https://user:pw@api.example:8443/v1/x?token=abc") == "https://api.example:8443/v1/x"
    )
