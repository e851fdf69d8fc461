"""Event factories shared by the detection tests."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from exporter.events import Event, EventKind

REPO = Path(__file__).resolve().parents[3]
RULES_DIR = REPO / "rules"
SEED = REPO.parent / "shared" / "seed" / "monitoring-and-alerting-pipeline.md"


def event(
    source: str = "kong_monitor",
    event_type: str = "service_discovery",
    *,
    kind: EventKind = "state",
    platform: str = "kong",
    asset: str = "edge",
    environment: str = "production",
    **data: Any,
) -> Event:
    return Event(
        source=source,
        event_type=event_type,
        platform=platform,
        asset=asset,
        data=data,
        observed_at=1_700_000_000.0,
        kind=kind,
        environment=environment,
    )


def kong_admin(address: str = "0.0.0.0", port: int = 8001, protocol: str = "http") -> Event:
    """The event the Kong collector emits for an Admin API listener."""
    return event(
        listener="admin_listen",
        address=address,
        port=port,
        protocol=protocol,
        endpoint=f"admin_listen {address}:{port}",
    )
