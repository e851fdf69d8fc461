"""The asset inventory: declared assets merged with discovered ones, enrichment and scores.

Every event names an asset (``platform`` + ``asset``); :meth:`Inventory.enrich` records it as
discovered and, where ``assets.yml`` has a matching entry, sets the event's ``environment``
(declared beats the collector's default) and adds ``owner`` and ``criticality`` to its
``extra_labels``. Because detection's violation labels carry ``environment`` but not owner or
criticality, those two are exported once per asset in an info metric that PromQL joins::

    secmon_asset_info{asset="edge",criticality="critical",environment="production",\
owner="team-gateway",platform="kong",tags="pci"} 1.0
    secmon_asset_security_score{asset="edge",platform="kong"} 60.0
    secmon_asset_open_violations{asset="edge",platform="kong",severity="high"} 2.0

    # violations with their owner:
    secmon_rule_violation * on (platform, asset) group_left (owner, criticality) secmon_asset_info

Scores come from the live violations (see :mod:`exporter.inventory.score`). Enrichment runs on
the polling loop and rendering on the HTTP executor: the discovered map is replaced, never
mutated, so a scrape always reads a consistent one. ``version()`` combines the enrichment count
with the violation source's version, so :mod:`exporter.exposition` re-renders only on change.
"""

from __future__ import annotations

import fnmatch
import time
from collections import Counter
from collections.abc import Callable, Hashable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from prometheus_client.core import GaugeMetricFamily, InfoMetricFamily, Metric

from exporter.events import Event
from exporter.inventory.model import CRITICALITIES, AssetEntry, InventoryConfig, load_assets
from exporter.inventory.score import security_score

AssetKey = tuple[str, str]  # (platform, asset)
# DetectionState.violations(): label values starting rule_id, severity, category, platform, asset.
ViolationSource = Callable[[], Iterable[Sequence[str]]]
# Changes whenever the ViolationSource's answer does (DetectionState.version).
VersionSource = Callable[[], Hashable]


@dataclass(frozen=True, slots=True)
class Seen:
    environment: str
    first_seen: float
    last_seen: float
    collector: str


@dataclass(frozen=True, slots=True)
class Asset:
    """One row of the asset store (``/api/v1/assets``)."""

    platform: str
    asset: str
    owner: str = ""
    environment: str = ""
    criticality: str = ""
    tags: tuple[str, ...] = ()
    declared: bool = False
    discovered: bool = False
    last_seen: float | None = None
    open_violations: Mapping[str, int] = field(default_factory=dict)

    @property
    def security_score(self) -> int:
        return security_score(self.open_violations)

    def to_json(self) -> dict[str, Any]:
        return {
            "platform": self.platform,
            "asset": self.asset,
            "owner": self.owner or None,
            "environment": self.environment or None,
            "criticality": self.criticality or None,
            "tags": list(self.tags),
            "declared": self.declared,
            "discovered": self.discovered,
            "last_seen": self.last_seen,
            "open_violations": {s: self.open_violations.get(s, 0) for s in CRITICALITIES},
            "security_score": self.security_score,
        }


class Inventory:
    """Declared entries + discovered assets; a prometheus_client custom collector too."""

    def __init__(
        self,
        entries: Sequence[AssetEntry] = (),
        *,
        violations: ViolationSource = tuple,
        violations_version: VersionSource | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._exact = {(e.platform, e.id): e for e in entries if e.id is not None}
        self._patterns = [e for e in entries if e.pattern is not None]
        self._violations = violations
        self._clock = clock
        self._matches: dict[AssetKey, AssetEntry | None] = {}
        self._discovered: Mapping[AssetKey, Seen] = {}
        self._violations_version = violations_version
        self._enrichments = 0

    @classmethod
    def from_config(
        cls,
        config: InventoryConfig,
        *,
        violations: ViolationSource,
        violations_version: VersionSource | None = None,
    ) -> Inventory:
        entries = load_assets(config.path) if config.path is not None else []
        return cls(entries, violations=violations, violations_version=violations_version)

    def version(self) -> Hashable:
        """Changes after every enrichment and every change of the violations.

        Without a ``violations_version`` the violations can change unseen, so every call is a
        new version (the metrics are then rendered on every scrape, as before).
        """
        if self._violations_version is None:
            return object()
        return (self._enrichments, self._violations_version())

    def match(self, platform: str, asset: str) -> AssetEntry | None:
        """The declared entry for an asset: exact id first, then the first matching pattern."""
        key = (platform, asset)
        if key not in self._matches:  # cached: enrichment runs per event on every poll
            found = self._exact.get(key)
            if found is None:
                found = next(
                    (
                        e
                        for e in self._patterns
                        if e.platform == platform and fnmatch.fnmatchcase(asset, e.pattern or "")
                    ),
                    None,
                )
            self._matches[key] = found
        return self._matches[key]

    def enrich(self, collector_name: str, events: Sequence[Event]) -> Sequence[Event]:
        now = self._clock()
        seen = dict(self._discovered)
        enriched = []
        for event in events:
            entry = self.match(event.platform, event.asset)
            if entry is not None:
                extra = dict(event.extra_labels)
                if entry.owner:
                    extra["owner"] = entry.owner
                if entry.criticality:
                    extra["criticality"] = entry.criticality
                event = replace(
                    event, environment=entry.environment or event.environment, extra_labels=extra
                )
            key = (event.platform, event.asset)
            before = seen.get(key)
            seen[key] = Seen(
                environment=event.environment,
                first_seen=before.first_seen if before else now,
                last_seen=now,
                collector=collector_name,
            )
            enriched.append(event)
        self._discovered = seen
        self._enrichments += 1  # after the swap: see exporter.exposition.Versioned
        return enriched

    def assets(self) -> list[Asset]:
        """Every declared (by id) or discovered asset, with its open violations, sorted."""
        counts: dict[AssetKey, Counter[str]] = {}
        for key in self._violations():
            counts.setdefault((key[3], key[4]), Counter())[key[1]] += 1
        discovered = self._discovered
        keys = set(self._exact) | set(discovered) | set(counts)
        rows = []
        for platform, name in sorted(keys):
            entry = self.match(platform, name)
            seen = discovered.get((platform, name))
            rows.append(
                Asset(
                    platform=platform,
                    asset=name,
                    owner=(entry.owner if entry else None) or "",
                    environment=(entry.environment if entry else None)
                    or (seen.environment if seen else ""),
                    criticality=(entry.criticality if entry else None) or "",
                    tags=entry.tags if entry else (),
                    declared=entry is not None,
                    discovered=seen is not None,
                    last_seen=seen.last_seen if seen else None,
                    open_violations=dict(counts.get((platform, name), {})),
                )
            )
        return rows

    def describe(self) -> Iterable[Metric]:
        return self._families([])

    def collect(self) -> Iterable[Metric]:
        return self._families(self.assets())

    @staticmethod
    def _families(assets: Sequence[Asset]) -> list[Metric]:
        info = InfoMetricFamily(
            "secmon_asset",
            "Asset metadata from assets.yml and discovery; join on platform and asset.",
            labels=["platform", "asset"],
        )
        score = GaugeMetricFamily(
            "secmon_asset_security_score",
            "0-100: 100 minus weighted open violations (critical 40, high 20, medium 10, low 5).",
            labels=["platform", "asset"],
        )
        open_ = GaugeMetricFamily(
            "secmon_asset_open_violations",
            "Open rule violations of the asset by severity.",
            labels=["platform", "asset", "severity"],
        )
        for row in assets:
            labels = [row.platform, row.asset]
            info.add_metric(
                labels,
                {
                    "owner": row.owner,
                    "environment": row.environment,
                    "criticality": row.criticality,
                    "tags": ",".join(row.tags),
                },
            )
            score.add_metric(labels, row.security_score)
            for severity in CRITICALITIES:
                open_.add_metric([*labels, severity], row.open_violations.get(severity, 0))
        return [info, score, open_]
