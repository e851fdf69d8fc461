"""A lean HTTP/1.1 client for the load generator: one keep-alive connection per sender.

The load generator shares its two-core box with the bridge, PostgreSQL and Redis, so every
microsecond it spends is one the system under test does not get. aiohttp's client costs
about 390 µs of CPU per request here; this one writes the request in one ``send`` and reads
the answer with asyncio streams, for a fraction of that. It speaks just what a webhook
exchange needs: ``POST`` with ``Content-Length``, and an answer framed by ``Content-Length``
or chunked transfer encoding, on a persistent connection that is opened again after the
server closes it or a request fails.
"""

from __future__ import annotations

import asyncio
from urllib.parse import urlsplit

MAX_HEAD_BYTES = 64 * 1024


class ProtocolError(Exception):
    """The server's answer is not HTTP/1.1 this client can read."""


class HttpClient:
    """``await client.post(body)`` returns ``(status, body)``; requests go one at a time."""

    def __init__(self, url: str, headers: dict[str, str]) -> None:
        parts = urlsplit(url)
        if parts.scheme != "http" or parts.hostname is None:
            raise ValueError(f"only http:// URLs with a host are supported, not {url!r}")
        self._host = parts.hostname
        self._port = parts.port or 80
        path = parts.path or "/"
        if parts.query:
            path += f"?{parts.query}"
        lines = [f"POST {path} HTTP/1.1", f"Host: {parts.netloc}"]
        lines += [f"{name}: {value}" for name, value in headers.items()]
        self._head = ("\r\n".join(lines) + "\r\nContent-Length: ").encode("latin-1")
        self._reader: asyncio.StreamReader | None = None
        self._writer: asyncio.StreamWriter | None = None

    async def post(self, body: bytes) -> tuple[int, bytes]:
        if self._writer is None:
            self._reader, self._writer = await asyncio.open_connection(self._host, self._port)
        reader, writer = self._reader, self._writer
        assert reader is not None
        try:
            writer.write(b"%s%d\r\n\r\n%s" % (self._head, len(body), body))
            status, length, chunked, close = _parse_head(await reader.readuntil(b"\r\n\r\n"))
            if chunked:
                answer = await _read_chunked(reader)
            elif length is not None:
                answer = await reader.readexactly(length)
            else:  # neither: the body runs until the server closes the connection
                answer, close = await reader.read(), True
        except BaseException:
            self.close()  # a half-read answer leaves the connection unusable
            raise
        if close:
            self.close()
        return status, answer

    def close(self) -> None:
        if self._writer is not None:
            self._writer.close()
        self._reader = self._writer = None


def _parse_head(head: bytes) -> tuple[int, int | None, bool, bool]:
    """(status, Content-Length or None, chunked, server closes) from a response head."""
    if len(head) > MAX_HEAD_BYTES:
        raise ProtocolError(f"response head over {MAX_HEAD_BYTES} bytes")
    status_line, *header_lines = head[:-4].decode("latin-1").split("\r\n")
    version, _, rest = status_line.partition(" ")
    if not version.startswith("HTTP/1.") or not rest[:3].isdigit():
        raise ProtocolError(f"not an HTTP/1.x status line: {status_line[:80]!r}")
    length: int | None = None
    chunked = False
    close = version == "HTTP/1.0"
    for line in header_lines:
        name, _, value = line.partition(":")
        name, value = name.strip().lower(), value.strip().lower()
        if name == "content-length":
            length = int(value)
        elif name == "transfer-encoding":
            chunked = value.endswith("chunked")
        elif name == "connection":
            close = "close" in value
    return int(rest[:3]), length, chunked, close


async def _read_chunked(reader: asyncio.StreamReader) -> bytes:
    parts: list[bytes] = []
    while True:
        size_line = await reader.readuntil(b"\r\n")
        size = int(size_line.split(b";", 1)[0].strip(), 16)
        if size == 0:
            while await reader.readuntil(b"\r\n") != b"\r\n":  # trailers, then the end
                pass
            return b"".join(parts)
        parts.append(await reader.readexactly(size))
        if await reader.readexactly(2) != b"\r\n":
            raise ProtocolError("chunk not followed by CRLF")
