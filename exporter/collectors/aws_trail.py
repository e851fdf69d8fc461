"""CloudTrail ``LookupEvents``: incremental reads within the API's rate limit.

LookupEvents allows 2 requests per second per account and region and one lookup attribute
per request. Per region and poll this module makes two lookups:

- ``ReadOnly=false``: every write call, filtered here to security-group calls
  (:data:`SG_EVENT_NAMES`), everything from ``iam.amazonaws.com`` (IAM is global: its events
  are recorded in ``us-east-1`` only) and everything from ``cloudtrail.amazonaws.com``
  (``StopLogging``, ``DeleteTrail``, ``UpdateTrail``, ``PutEventSelectors``, …);
- ``Username=root``: every call by the root user, read-only ones included.

Each page is one request and waits for a token from a :class:`TokenBucket`. CloudTrail
delivers events to LookupEvents minutes after the call, with their original ``EventTime``, so
each lookup starts ``overlap`` seconds before the newest event already seen and drops event
ids it has seen: late events are found, none is reported twice. The cursor advances only when
the whole poll succeeds (:meth:`TrailReader.read` returns it; the collector commits it).

Events are ``aws_cloudtrail`` / ``api_call`` *change* events; ``data``: ``event_name``,
``event_source``, ``event_id``, ``event_time``, ``category`` (``root``, ``security_group``,
``iam``, ``cloudtrail``), ``username``, ``user_type``, ``user_arn``, ``account_id``,
``source_ip``, ``region``, ``read_only``, and ``invoked_by`` / ``error_code`` only when present
(the rules test them with ``NOT EXISTS``). The access key id of the caller is never copied.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from exporter.collectors.base import CollectorError

SG_EVENT_NAMES = frozenset(
    {
        "AuthorizeSecurityGroupIngress",
        "AuthorizeSecurityGroupEgress",
        "RevokeSecurityGroupIngress",
        "RevokeSecurityGroupEgress",
        "ModifySecurityGroupRules",
        "UpdateSecurityGroupRuleDescriptionsIngress",
        "CreateSecurityGroup",
        "DeleteSecurityGroup",
    }
)
_SOURCES = {"iam.amazonaws.com": "iam", "cloudtrail.amazonaws.com": "cloudtrail"}
LOOKUPS: tuple[tuple[str, str], ...] = (("ReadOnly", "false"), ("Username", "root"))

ApiCall = Callable[[str, str, str, dict[str, Any]], Awaitable[Mapping[str, Any]]]


class TokenBucket:
    """``rate`` tokens per second, at most ``burst`` saved up; ``acquire`` waits for one."""

    def __init__(
        self,
        rate: float,
        burst: float = 1.0,
        *,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._rate, self._burst, self._clock = rate, burst, clock
        self._tokens, self._updated = burst, clock()
        self._lock = asyncio.Lock()

    async def acquire(self) -> None:
        async with self._lock:  # one waiter at a time keeps the order and the arithmetic simple
            while True:
                now = self._clock()
                self._tokens = min(self._burst, self._tokens + (now - self._updated) * self._rate)
                self._updated = now
                if self._tokens >= 1.0:
                    self._tokens -= 1.0
                    return
                await asyncio.sleep((1.0 - self._tokens) / self._rate)


@dataclass(slots=True)
class Cursor:
    """Per region: event ids already reported, with their event times, and the newest time."""

    seen: dict[str, float] = field(default_factory=dict)
    newest: float | None = None


def _timestamp(value: Any) -> float:
    if isinstance(value, datetime):
        return value.timestamp()
    if isinstance(value, int | float):
        return float(value)
    raise CollectorError(f"LookupEvents: EventTime {value!r} is not a time", reason="malformed")


def event_data(raw: Mapping[str, Any], region: str) -> dict[str, Any] | None:
    """The ``data`` of one LookupEvents record, or None when it is not one we report."""
    try:
        detail = json.loads(raw.get("CloudTrailEvent") or "{}")
        event_id, name = str(raw["EventId"]), str(raw["EventName"])
    except (KeyError, ValueError):
        raise CollectorError(
            "LookupEvents: record without EventId/EventName", reason="malformed"
        ) from None
    identity = detail.get("userIdentity") or {}
    source = str(raw.get("EventSource") or detail.get("eventSource", ""))
    user_type = str(identity.get("type", ""))
    if user_type == "Root":
        category = "root"
    elif name in SG_EVENT_NAMES:
        category = "security_group"
    elif source in _SOURCES:
        category = _SOURCES[source]
    else:
        return None
    when = datetime.fromtimestamp(_timestamp(raw.get("EventTime")), UTC)
    data: dict[str, Any] = {
        "event_name": name,
        "event_source": source,
        "event_id": event_id,
        "event_time": when.isoformat().replace("+00:00", "Z"),
        "category": category,
        "username": str(raw.get("Username") or identity.get("userName", "")),
        "user_type": user_type,
        "user_arn": str(identity.get("arn", "")),
        "account_id": str(identity.get("accountId") or detail.get("recipientAccountId", "")),
        "source_ip": str(detail.get("sourceIPAddress", "")),
        "region": str(detail.get("awsRegion") or region),
        "read_only": str(raw.get("ReadOnly", detail.get("readOnly", ""))).lower() == "true",
    }
    if identity.get("invokedBy"):
        data["invoked_by"] = str(identity["invokedBy"])
    if detail.get("errorCode"):
        data["error_code"] = str(detail["errorCode"])
    return data


class TrailReader:
    """Reads new CloudTrail events of one region per call; the caller commits the cursor."""

    def __init__(
        self,
        call: ApiCall,
        *,
        overlap: float,
        lookback: float,
        max_pages: int,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._call, self._overlap, self._lookback = call, overlap, lookback
        self._max_pages, self._clock = max_pages, clock
        self.cursors: dict[str, Cursor] = {}

    async def read(self, region: str) -> tuple[list[dict[str, Any]], Cursor, bool]:
        """``(new event data, next cursor, truncated)`` for ``region``."""
        now = self._clock()
        cursor = self.cursors.get(region, Cursor())
        start = (cursor.newest if cursor.newest is not None else now - self._lookback) - (
            self._overlap
        )
        seen = dict(cursor.seen)
        newest = cursor.newest
        found: list[dict[str, Any]] = []
        truncated = False
        for key, value in LOOKUPS:
            token: str | None = None
            for _ in range(self._max_pages):
                params: dict[str, Any] = {
                    "LookupAttributes": [{"AttributeKey": key, "AttributeValue": value}],
                    "StartTime": datetime.fromtimestamp(start, UTC),
                    "EndTime": datetime.fromtimestamp(now, UTC),
                    "MaxResults": 50,
                }
                if token:
                    params["NextToken"] = token
                page = await self._call(region, "cloudtrail", "lookup_events", params)
                for raw in page.get("Events") or ():
                    data = event_data(raw, region)
                    when = _timestamp(raw.get("EventTime"))
                    newest = when if newest is None else max(newest, when)
                    if data is None or data["event_id"] in seen:
                        continue
                    seen[data["event_id"]] = when
                    found.append(data)
                token = page.get("NextToken")
                if not token:
                    break
            else:
                truncated = True  # more pages than allowed: the oldest events of the window
        # Forget ids that can no longer fall inside a window (they are older than any start).
        horizon = (newest if newest is not None else now) - 2 * self._overlap
        seen = {event_id: t for event_id, t in seen.items() if t >= horizon}
        found.sort(key=lambda d: (d["event_time"], d["event_id"]))
        return found, Cursor(seen, newest), truncated
