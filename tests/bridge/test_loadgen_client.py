"""The load generator's HTTP client against a real aiohttp server: keep-alive, both ways of
framing an answer, a server that closes, and a failed request that does not poison the next."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer

from benchmarks.bridge.httpclient import HttpClient

seen_peers: list[object] = []


async def echo(request: web.Request) -> web.StreamResponse:
    seen_peers.append(request.transport.get_extra_info("peername") if request.transport else None)
    body = await request.read()
    mode = request.query.get("mode", "length")
    if mode == "chunked":
        response = web.StreamResponse(status=202)
        response.enable_chunked_encoding()
        await response.prepare(request)
        for start in range(0, len(body), 3):
            await response.write(body[start : start + 3])
        await response.write_eof()
        return response
    if mode == "close":
        return web.Response(status=200, body=body, headers={"Connection": "close"})
    if body == b"slow":
        await asyncio.sleep(5)
    return web.json_response(
        {"got": len(body), "auth": request.headers.get("Authorization")}, status=201
    )


@pytest.fixture
async def server() -> AsyncIterator[TestServer]:
    app = web.Application()
    app.router.add_post("/hook", echo)
    test_server = TestServer(app)
    await test_server.start_server()
    seen_peers.clear()
    yield test_server
    await test_server.close()


async def test_answers_framed_by_length_reuse_one_connection(server: TestServer) -> None:
    client = HttpClient(str(server.make_url("/hook")), {"Authorization": "Bearer t"})
    try:
        answers = [await client.post(b"x" * n) for n in (0, 10, 70_000)]
    finally:
        client.close()
    assert [status for status, _ in answers] == [201, 201, 201]
    assert answers[2][1] == b'{"got": 70000, "auth": "Bearer t"}'
    assert len(set(seen_peers)) == 1  # keep-alive: one connection for all three


async def test_chunked_answer_and_a_server_that_closes(server: TestServer) -> None:
    client = HttpClient(str(server.make_url("/hook?mode=chunked")), {})
    try:
        assert await client.post(b"abcdefgh") == (202, b"abcdefgh")
    finally:
        client.close()
    closing = HttpClient(str(server.make_url("/hook?mode=close")), {})
    try:
        assert await closing.post(b"one") == (200, b"one")
        assert await closing.post(b"two") == (200, b"two")  # opened again
    finally:
        closing.close()
    assert len(set(seen_peers)) == 3


async def test_a_timed_out_request_leaves_the_client_usable(server: TestServer) -> None:
    client = HttpClient(str(server.make_url("/hook")), {})
    try:
        with pytest.raises(TimeoutError):
            async with asyncio.timeout(0.2):
                await client.post(b"slow")
        # The half-finished exchange was dropped with its connection; the next one is new.
        assert await client.post(b"next") == (201, b'{"got": 4, "auth": null}')
    finally:
        client.close()
    assert len(set(seen_peers)) == 2


def test_only_plain_http_urls() -> None:
    with pytest.raises(ValueError, match="only http://"):
        HttpClient("https://127.0.0.1/hook", {})
