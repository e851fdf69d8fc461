"""Parsing Kong ``*_listen`` entries and deciding whether they are network-reachable."""

from __future__ import annotations

import pytest

from exporter.collectors.kong import Listener, parse_listener

CASES = [
    # spec, address, port, protocol, network_reachable
    ("0.0.0.0:8001 reuseport backlog=16384", "0.0.0.0", 8001, "http", True),
    ("127.0.0.1:8444 http2 ssl", "127.0.0.1", 8444, "https", False),
    ("127.1.2.3:8001", "127.1.2.3", 8001, "http", False),
    ("[::]:8001", "::", 8001, "http", True),
    ("[::1]:8444 ssl", "::1", 8444, "https", False),
    ("[::ffff:127.0.0.1]:8001", "::ffff:127.0.0.1", 8001, "http", False),
    ("[2001:db8::5]:8444 http2 ssl", "2001:db8::5", 8444, "https", True),
    ("localhost:8001", "localhost", 8001, "http", False),
    ("kong-admin.internal:8001", "kong-admin.internal", 8001, "http", True),
    ("10.0.0.7:8001 http2", "10.0.0.7", 8001, "http", True),
    ("*:8001", "0.0.0.0", 8001, "http", True),
    ("8001", "0.0.0.0", 8001, "http", True),
    ("192.168.1.10:8444 ssl proxy_protocol", "192.168.1.10", 8444, "https", True),
]


@pytest.mark.parametrize(("spec", "address", "port", "protocol", "reachable"), CASES)
def test_parse_listener(spec: str, address: str, port: int, protocol: str, reachable: bool) -> None:
    listener = parse_listener(spec)
    assert listener is not None
    assert (listener.address, listener.port, listener.protocol) == (address, port, protocol)
    assert listener.network_reachable is reachable


@pytest.mark.parametrize("spec", ["off", "OFF", "", "unix:/run/kong/admin.sock"])
def test_disabled_and_non_network_listeners(spec: str) -> None:
    assert parse_listener(spec) is None


@pytest.mark.parametrize("spec", ["0.0.0.0", "0.0.0.0:99999", "[::zz]:8001", "[::]8001", ":8001"])
def test_malformed_listeners_raise(spec: str) -> None:
    with pytest.raises(ValueError, match=r"."):
        parse_listener(spec)


def test_flags_kept_in_order_and_ipv6_endpoint_bracketed() -> None:
    listener = parse_listener("[::]:8444 http2 ssl reuseport backlog=16384")
    assert listener == Listener("::", 8444, ("http2", "ssl", "reuseport", "backlog=16384"))
    assert listener.host_port == "[::]:8444"
