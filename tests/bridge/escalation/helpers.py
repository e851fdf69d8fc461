"""Helpers for escalation tests: a settable clock and deliveries created at a given time."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from bridge.alertmanager import parse_payload, to_delivery
from bridge.store.base import Delivery

T0 = datetime(2026, 11, 25, 9, 0, tzinfo=UTC)


@dataclass
class Clock:
    """``now`` for the scheduler; tests move it with :meth:`advance`."""

    at: datetime = T0

    def __call__(self) -> datetime:
        return self.at

    def advance(self, delta: timedelta) -> None:
        self.at += delta


def delivery(payload: dict[str, Any], received_at: datetime = T0) -> Delivery:
    body = json.dumps(payload).encode()
    return to_delivery(parse_payload(body), body, received_at=received_at)


@dataclass
class ShiftedClock:
    """Real time plus an offset: alerts the bridge stores at real time are due as expected."""

    offset: timedelta = timedelta(0)

    def __call__(self) -> datetime:
        return datetime.now(UTC) + self.offset

    def advance(self, delta: timedelta) -> None:
        self.offset += delta
