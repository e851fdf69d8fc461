"""A small client for Prometheus's ``GET /api/v1/query_range``.

Every failure becomes a :class:`QueryFailed` with an ``outcome`` the scheduler counts
(``timeout``, ``http_error``, ``server_error``, ``query_error``, ``bad_response``), so one
broken query or a Prometheus restart is logged and counted, never raised into the bridge.
Warnings (Prometheus answers ``status: success`` with partial data and a ``warnings`` list,
e.g. from a remote-read or Thanos store that timed out) are returned beside the series.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import field
from typing import Any

import aiohttp

from bridge.frozen import frozen

# Prometheus refuses ranges of more than 11,000 points per series; stay below it.
MAX_POINTS_PER_REQUEST = 10_000


class QueryFailed(Exception):
    """A query that produced no usable data; ``outcome`` is a low-cardinality label value."""

    def __init__(self, outcome: str, message: str) -> None:
        super().__init__(message)
        self.outcome = outcome


@frozen
class Series:
    """One series of a range query: its labels (``__name__`` dropped) and points, oldest first."""

    labels: Mapping[str, str]
    timestamps: Sequence[float]
    values: Sequence[float]


@frozen
class RangeResult:
    series: list[Series]
    warnings: list[str] = field(default_factory=list)


def _parse_matrix(body: Any) -> RangeResult:
    if not isinstance(body, dict):
        raise QueryFailed("bad_response", "response is not a JSON object")
    if body.get("status") != "success":
        raise QueryFailed(
            "query_error", f"{body.get('errorType', 'error')}: {body.get('error', 'unknown')}"
        )
    data = body.get("data")
    if not isinstance(data, dict) or data.get("resultType") != "matrix":
        raise QueryFailed("bad_response", "expected a matrix result")
    series: list[Series] = []
    for item in data.get("result") or []:
        labels = {k: str(v) for k, v in item.get("metric", {}).items() if k != "__name__"}
        times: list[float] = []
        values: list[float] = []
        for t, v in item.get("values") or []:
            value = float(v)  # "NaN", "+Inf" parse; NaN carries no information to score
            if not math.isnan(value):
                times.append(float(t))
                values.append(value)
        series.append(Series(labels, times, values))
    return RangeResult(series, [str(w) for w in body.get("warnings") or []])


class PrometheusClient:
    """``query_range`` over an aiohttp session the caller owns."""

    def __init__(self, session: aiohttp.ClientSession, base_url: str) -> None:
        self._session = session
        self._url = base_url.rstrip("/") + "/api/v1/query_range"

    async def _request(
        self, query: str, start: float, end: float, step: float, timeout_seconds: float
    ) -> RangeResult:
        params = {
            "query": query,
            "start": f"{start:.3f}",
            "end": f"{end:.3f}",
            "step": f"{step:g}",
            "timeout": f"{timeout_seconds:g}s",
        }
        try:
            async with self._session.get(
                self._url, params=params, timeout=aiohttp.ClientTimeout(total=timeout_seconds)
            ) as response:
                if response.status >= 500:
                    raise QueryFailed("server_error", f"HTTP {response.status} from Prometheus")
                try:
                    body = await response.json(content_type=None)
                except ValueError as exc:
                    raise QueryFailed("bad_response", f"HTTP {response.status}, not JSON") from exc
                if response.status >= 400 and not isinstance(body, dict):
                    raise QueryFailed("http_error", f"HTTP {response.status} from Prometheus")
        except TimeoutError as exc:
            raise QueryFailed("timeout", f"no answer within {timeout_seconds:g}s") from exc
        except aiohttp.ClientError as exc:
            raise QueryFailed("http_error", f"{type(exc).__name__}: {exc}") from exc
        # 400/422 carry {"status": "error", "errorType": "bad_data", ...}: a query_error.
        return _parse_matrix(body)

    async def query_range(
        self, query: str, *, start: float, end: float, step: float, timeout_seconds: float = 30.0
    ) -> RangeResult:
        """All series of ``query`` between ``start`` and ``end``, split into allowed chunks."""
        chunk = step * (MAX_POINTS_PER_REQUEST - 1)
        merged: dict[tuple[tuple[str, str], ...], tuple[list[float], list[float]]] = {}
        warnings: list[str] = []
        lo = start
        while lo <= end:
            hi = min(end, lo + chunk)
            part = await self._request(query, lo, hi, step, timeout_seconds)
            warnings.extend(part.warnings)
            for s in part.series:
                times, values = merged.setdefault(tuple(sorted(s.labels.items())), ([], []))
                times.extend(s.timestamps)
                values.extend(s.values)
            lo = hi + step
        return RangeResult([Series(dict(key), t, v) for key, (t, v) in merged.items()], warnings)
