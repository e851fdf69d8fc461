"""Kong listener settings (``admin_listen``, ``proxy_listen``, …) parsed into addresses.

Kong's node-information document (``GET /``) carries them as Kong was started, e.g.::

    "admin_listen": ["0.0.0.0:8001 reuseport backlog=16384", "127.0.0.1:8444 http2 ssl"]

``["off"]`` or an empty list means the listener is disabled. Each entry is parsed into address,
port and flags; ``ssl`` makes it HTTPS, anything else is plain HTTP (``http2`` without ``ssl`` is
cleartext h2c).
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from exporter.collectors.base import CollectorError

LISTENER_KEYS = ("admin_listen", "proxy_listen", "status_listen", "admin_gui_listen")
_SPEC = re.compile(r"^(?:\[(?P<v6>[^\]]+)\]|(?P<host>[^\s:\[\]]+)):(?P<port>\d+)$")


@dataclass(frozen=True, slots=True)
class Listener:
    """One parsed ``*_listen`` entry."""

    address: str
    port: int
    flags: tuple[str, ...] = ()

    @property
    def protocol(self) -> str:
        return "https" if "ssl" in self.flags else "http"

    @property
    def host_port(self) -> str:
        host = f"[{self.address}]" if ":" in self.address else self.address
        return f"{host}:{self.port}"

    @property
    def network_reachable(self) -> bool:
        name = self.address.lower().rstrip(".")
        if name == "localhost" or name.endswith(".localhost"):
            return False
        try:
            ip = ipaddress.ip_address(name)
        except ValueError:
            return True  # a hostname: not resolved, so assume reachable (see module docstring)
        if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
            ip = ip.ipv4_mapped
        return not ip.is_loopback


def parse_listener(spec: str) -> Listener | None:
    """Parse ``"0.0.0.0:8001 reuseport backlog=16384"``; ``None`` for ``off`` and unix sockets.

    Accepts what nginx's ``listen`` accepts for TCP: ``addr:port``, ``[v6]:port``, ``*:port``
    and a bare port (all meaning "every address" for the last two). Raises ``ValueError``.
    """
    words = spec.split()
    if not words or words[0].lower() == "off" or words[0].startswith("unix:"):
        return None
    head, flags = words[0], tuple(words[1:])
    if head.isdigit():
        address, port_text = "0.0.0.0", head
    else:
        match = _SPEC.match(head)
        if match is None:
            raise ValueError(f"unrecognised listener address {head!r}")
        address = match["v6"] or match["host"]
        address = "0.0.0.0" if address == "*" else address
        port_text = match["port"]
        if match["v6"] is not None:
            ipaddress.IPv6Address(address.split("%")[0])
    port = int(port_text)
    if not 0 < port < 65536:
        raise ValueError(f"port {port} out of range in {spec!r}")
    return Listener(address=address, port=port, flags=flags)


def root_field(mapping: Mapping[str, Any], key: str, where: str) -> Any:
    if not isinstance(mapping, Mapping) or key not in mapping:
        raise CollectorError(f"Kong Admin API root lacks field {where}{key!r}", reason="malformed")
    return mapping[key]


def listener_specs(configuration: Mapping[str, Any], key: str) -> list[str]:
    value = configuration.get(key)
    if value is None:
        if key == "admin_listen":  # present in every Kong version; others are newer
            root_field(configuration, key, "configuration.")
        return []
    if isinstance(value, str):
        value = value.split(",")
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise CollectorError(f"configuration.{key} is not a list of strings", reason="malformed")
    return [v.strip() for v in value]
