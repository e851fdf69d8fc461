"""Kong Admin API discovery: which listeners a Kong node exposes, and how.

One ``GET {admin_url}/`` per poll (Kong's node-information endpoint; see
https://docs.konghq.com/gateway/latest/admin-api/). Its ``configuration`` object carries the
listener settings as Kong was started with them, e.g.::

    "admin_listen": ["0.0.0.0:8001 reuseport backlog=16384", "127.0.0.1:8444 http2 ssl"]

``["off"]`` or an empty list means the listener is disabled. Each entry is parsed into address,
port and flags; ``ssl`` makes it HTTPS, anything else is plain HTTP (``http2`` without ``ssl`` is
cleartext h2c). For every listener bound to a network-reachable address, one *state* event
``kong_monitor`` / ``service_discovery`` is emitted with ``data.listener``, ``address``,
``port``, ``protocol``, ``endpoint`` (``"admin_listen 0.0.0.0:8001"``), ``flags``, ``node_id``,
``hostname`` and ``kong_version``; the seed's ``kong_http_admin_api`` rule matches on those.

Loopback listeners (127.0.0.0/8, ``::1``, ``localhost``) produce no event: they are reachable only
from the Kong host itself, which is exactly the hardening Kong recommends for the Admin API, so
reporting them as "discovered endpoints" would make every well-configured node look exposed.
Hostnames other than ``localhost`` are treated as reachable: the exporter does not resolve DNS,
and guessing "internal" would hide a real exposure. Unix sockets are not network listeners.

Metric lines (besides the shared ``secmon_collector_*`` self-metrics)::

    # HELP secmon_kong_node_info Kong node identity, from the Admin API root.
    # TYPE secmon_kong_node_info gauge
    secmon_kong_node_info{collector="edge",hostname="kong-1",node_id="3f1c…",version="3.6.1"} 1.0
    # HELP secmon_kong_listeners Kong listeners by kind, protocol and exposure.
    # TYPE secmon_kong_listeners gauge
    secmon_kong_listeners{collector="edge",exposure="network",listener="admin_listen",\
protocol="http"} 1.0

Addresses are not labels (unbounded); they travel in events, where rules pick what they need.
"""

from __future__ import annotations

import asyncio
import ipaddress
import json
import re
import time
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import aiohttp
from prometheus_client.core import GaugeMetricFamily, InfoMetricFamily, Metric
from pydantic import HttpUrl, SecretStr, field_validator, model_validator

from exporter.collectors.base import CollectorError, Snapshot
from exporter.config import CollectorConfig
from exporter.events import Event

LISTENER_KEYS = ("admin_listen", "proxy_listen", "status_listen", "admin_gui_listen")
_REQUIRED_ROOT_FIELDS = ("node_id", "hostname", "version")
_SPEC = re.compile(r"^(?:\[(?P<v6>[^\]]+)\]|(?P<host>[^\s:\[\]]+)):(?P<port>\d+)$")


class KongHTTPError(CollectorError):
    """A non-2xx answer; ``retry_after`` (seconds) is what a 429/503 asked us to wait."""

    def __init__(self, message: str, *, status: int, retry_after: float | None) -> None:
        super().__init__(message, reason=f"http_{status}", retry_after=retry_after)
        self.status = status


class KongConfig(CollectorConfig):
    """``type: kong``: one Kong node's Admin API."""

    type: Literal["kong"]
    admin_url: HttpUrl
    token: SecretStr | None = None
    token_file: Path | None = None
    verify_tls: bool = True

    @field_validator("admin_url")
    @classmethod
    def _no_userinfo(cls, value: HttpUrl) -> HttpUrl:
        # Credentials in URLs end up in logs and error messages; tokens have their own field.
        if value.username or value.password:
            raise ValueError("must not contain credentials; use token or token_file")
        return value

    @field_validator("token_file")
    @classmethod
    def _readable(cls, value: Path | None) -> Path | None:
        if value is not None and not value.is_file():
            raise ValueError(f"{value} is not a readable file")
        return value

    @model_validator(mode="after")
    def _one_token_source(self) -> KongConfig:
        if self.token is not None and self.token_file is not None:
            raise ValueError("set token or token_file, not both")
        return self

    def resolved_token(self) -> str | None:
        if self.token is not None:
            return self.token.get_secret_value()
        if self.token_file is not None:
            return self.token_file.read_text(encoding="utf-8").strip() or None
        return None


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


def _field(mapping: Mapping[str, Any], key: str, where: str) -> Any:
    if not isinstance(mapping, Mapping) or key not in mapping:
        raise CollectorError(f"Kong Admin API root lacks field {where}{key!r}", reason="malformed")
    return mapping[key]


def _listener_specs(configuration: Mapping[str, Any], key: str) -> list[str]:
    value = configuration.get(key)
    if value is None:
        if key == "admin_listen":  # present in every Kong version; others are newer
            _field(configuration, key, "configuration.")
        return []
    if isinstance(value, str):
        value = value.split(",")
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise CollectorError(f"configuration.{key} is not a list of strings", reason="malformed")
    return [v.strip() for v in value]


class KongCollector:
    """Polls one Kong node's Admin API root into discovery events and node metrics."""

    def __init__(self, config: KongConfig, *, clock: Callable[[], float] = time.time) -> None:
        self._config = config
        self._clock = clock
        self._url = str(config.admin_url).rstrip("/") + "/"
        self._session: aiohttp.ClientSession | None = None

    @property
    def name(self) -> str:
        return self._config.name

    @property
    def interval(self) -> float:
        return self._config.interval

    def _client(self) -> aiohttp.ClientSession:
        # Created lazily: a session must be born inside the running event loop.
        if self._session is None or self._session.closed:
            headers = {"Accept": "application/json", "User-Agent": "secmon-exporter"}
            token = self._config.resolved_token()
            if token:
                headers["Kong-Admin-Token"] = token
            self._session = aiohttp.ClientSession(
                headers=headers,
                timeout=aiohttp.ClientTimeout(total=self._config.timeout),
                connector=aiohttp.TCPConnector(ssl=self._config.verify_tls),
            )
        return self._session

    async def _get_json(self, path: str) -> Any:
        url = self._url + path.lstrip("/")
        try:
            async with self._client().get(url, allow_redirects=False) as response:
                if not 200 <= response.status < 300:
                    retry_after = response.headers.get("Retry-After", "")
                    raise KongHTTPError(
                        f"GET {url} answered HTTP {response.status}",
                        status=response.status,
                        retry_after=float(retry_after) if retry_after.isdigit() else None,
                    )
                body = await response.read()
        except TimeoutError:
            raise CollectorError(
                f"GET {url} timed out after {self._config.timeout:g}s", reason="timeout"
            ) from None
        except aiohttp.ClientError as exc:
            # aiohttp's messages name host and port only, never request headers.
            raise CollectorError(f"GET {url} failed: {exc}", reason="connection") from None
        try:
            return json.loads(body)
        except ValueError:
            raise CollectorError(f"GET {url} answered invalid JSON", reason="malformed") from None

    async def poll(self) -> Snapshot:
        root = await self._get_json("/")
        if not isinstance(root, Mapping):
            raise CollectorError("Kong Admin API root is not a JSON object", reason="malformed")
        configuration = _field(root, "configuration", "")
        node = {key: str(_field(root, key, "")) for key in _REQUIRED_ROOT_FIELDS}
        listeners: list[tuple[str, Listener]] = []
        for key in LISTENER_KEYS:
            for spec in _listener_specs(configuration, key):
                try:
                    parsed = parse_listener(spec)
                except ValueError as exc:
                    raise CollectorError(
                        f"configuration.{key}: {exc}", reason="malformed"
                    ) from None
                if parsed is not None:
                    listeners.append((key, parsed))
        now = self._clock()
        events = [
            self._event(key, listener, node, now)
            for key, listener in listeners
            if listener.network_reachable
        ]
        return Snapshot(events=events, taken_at=now, metrics=self._metrics(node, listeners))

    def _event(self, key: str, listener: Listener, node: Mapping[str, str], now: float) -> Event:
        return Event(
            source="kong_monitor",
            event_type="service_discovery",
            kind="state",
            platform="kong",
            asset=self._config.name,
            environment=self._config.environment,
            observed_at=now,
            data={
                "listener": key,
                "address": listener.address,
                "port": listener.port,
                "protocol": listener.protocol,
                "endpoint": f"{key} {listener.host_port}",
                "flags": list(listener.flags),
                "node_id": node["node_id"],
                "hostname": node["hostname"],
                "kong_version": node["version"],
            },
        )

    def _metrics(
        self, node: Mapping[str, str], listeners: Sequence[tuple[str, Listener]]
    ) -> list[Metric]:
        info = InfoMetricFamily(
            "secmon_kong_node",
            "Kong node identity, from the Admin API root.",
            labels=["collector"],
        )
        info.add_metric(
            [self.name],
            {"node_id": node["node_id"], "hostname": node["hostname"], "version": node["version"]},
        )
        counts = Counter(
            (key, lis.protocol, "network" if lis.network_reachable else "loopback")
            for key, lis in listeners
        )
        gauge = GaugeMetricFamily(
            "secmon_kong_listeners",
            "Kong listeners by kind, protocol and exposure.",
            labels=["collector", "listener", "protocol", "exposure"],
        )
        for (key, protocol, exposure), count in sorted(counts.items()):
            gauge.add_metric([self.name, key, protocol, exposure], count)
        return [info, gauge]

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            # Let the connector's transports finish closing before the loop goes away.
            await asyncio.sleep(0)
