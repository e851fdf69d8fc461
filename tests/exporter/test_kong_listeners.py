"""Parsing Kong ``*_listen`` entries and deciding whether they are network-reachable."""

from __future__ import annotations

import ipaddress

import pytest
from hypothesis import given
from hypothesis import strategies as st

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


_FLAGS = st.lists(st.sampled_from(["ssl", "http2", "reuseport", "backlog=16384", "deferred"]))


@given(ip=st.ip_addresses(), port=st.integers(1, 65535), flags=_FLAGS)
def test_any_address_round_trips(
    ip: ipaddress.IPv4Address | ipaddress.IPv6Address, port: int, flags: list[str]
) -> None:
    host = f"[{ip}]" if ip.version == 6 else str(ip)
    listener = parse_listener(" ".join([f"{host}:{port}", *flags]))
    assert listener is not None
    assert ipaddress.ip_address(listener.address) == ip
    assert (listener.port, listener.flags) == (port, tuple(flags))
    assert listener.protocol == ("https" if "ssl" in flags else "http")
    assert listener.host_port == f"{host}:{port}"
    mapped = getattr(ip, "ipv4_mapped", None)
    assert listener.network_reachable is not (ip.is_loopback or bool(mapped and mapped.is_loopback))
