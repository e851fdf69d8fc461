"""Per-query detector state on disk, so a restarted bridge resumes instead of refitting.

One JSON file per query (``<state_dir>/<query name>.json``) holding, per series, its labels,
the detector kind and params it was built with, the last scored timestamp, the time of the last
fit and the detector's ``state_dict()``. Files are written to a temporary name and renamed, so
a crash mid-write leaves the previous file intact; a file that does not match the current
configuration (other detector or params) is ignored and the series is fitted afresh.
"""

from __future__ import annotations

import json
import logging
import os
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bridge.anomaly.base import JSON

log = logging.getLogger(__name__)

FORMAT_VERSION = 1


@dataclass(slots=True)
class SeriesRecord:
    labels: dict[str, str]
    last_scored: float
    fitted_at: float
    state: dict[str, JSON]


@dataclass(slots=True)
class QueryState:
    detector: str
    params: dict[str, Any]
    series: dict[str, SeriesRecord]


class StateStore:
    """Reads and atomically writes :class:`QueryState` files under one directory."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory

    def path(self, query_name: str) -> Path:
        return self.directory / f"{query_name}.json"

    def load(self, query_name: str) -> QueryState | None:
        path = self.path(query_name)
        try:
            doc = json.loads(path.read_text())
            if doc.get("version") != FORMAT_VERSION:
                raise ValueError(f"unknown state version {doc.get('version')!r}")
            series = {
                key: SeriesRecord(
                    labels={str(k): str(v) for k, v in rec["labels"].items()},
                    last_scored=float(rec["last_scored"]),
                    fitted_at=float(rec["fitted_at"]),
                    state=dict(rec["state"]),
                )
                for key, rec in doc["series"].items()
            }
            return QueryState(str(doc["detector"]), dict(doc["params"]), series)
        except FileNotFoundError:
            return None
        except (OSError, ValueError, KeyError, TypeError, AttributeError) as exc:
            # A damaged file costs a refit, not a crash loop.
            log.warning("ignoring anomaly state %s: %s", path, exc)
            return None

    def save(self, query_name: str, state: QueryState) -> None:
        doc: Mapping[str, Any] = {
            "version": FORMAT_VERSION,
            "detector": state.detector,
            "params": state.params,
            "series": {
                key: {
                    "labels": rec.labels,
                    "last_scored": rec.last_scored,
                    "fitted_at": rec.fitted_at,
                    "state": rec.state,
                }
                for key, rec in state.series.items()
            },
        }
        self.directory.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=self.directory, prefix=f".{query_name}.", suffix=".tmp")
        try:
            with os.fdopen(fd, "w") as handle:
                # NaN is allowed: a forecast without a fit stores sd = NaN, and json reads it back.
                json.dump(doc, handle, separators=(",", ":"))
                handle.flush()
                os.fsync(handle.fileno())
            os.replace(tmp, self.path(query_name))
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
