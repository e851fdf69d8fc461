"""The asset inventory (``assets.yml``): criticality, owner and environment per asset.

Entries name an asset by exact ``id`` or by a shell-style glob ``pattern`` (``fnmatch``), and
may restrict themselves to one ``platform``::

    assets:
      - id: kong-admin-prod
        platform: kong
        owner: platform-team
        environment: production
        criticality: critical
        tags: [edge, pci]
      - pattern: "acme/*-infra"
        platform: github
        criticality: high

An exact id wins over any pattern; among patterns the first match in file order wins, so put
narrow patterns first. Look-ups are cached, because the same few assets recur on every alert.
"""

from __future__ import annotations

import fnmatch
import re
from collections.abc import Mapping
from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml

from bridge.classify.model import CRITICALITY_LEVELS
from bridge.frozen import frozen

_ENTRY_FIELDS = frozenset(
    {"id", "pattern", "platform", "owner", "environment", "criticality", "tags"}
)


class InventoryError(ValueError):
    """The inventory file is unreadable or malformed; the message names file and field."""


@frozen
class Asset:
    """One inventory entry (``id`` or ``pattern`` set, never both)."""

    id: str | None
    pattern: str | None
    platform: str | None
    owner: str | None
    environment: str | None
    criticality: str | None
    tags: tuple[str, ...]

    @property
    def name(self) -> str:
        return self.id or f"pattern {self.pattern!r}"


class AssetInventory:
    """Finds the inventory entry for an (asset id, platform) pair."""

    def __init__(self, assets: tuple[Asset, ...] = ()) -> None:
        self.assets = assets
        self._by_id: dict[str, list[Asset]] = {}
        patterns: list[tuple[re.Pattern[str], Asset]] = []
        for asset in assets:
            if asset.id is not None:
                self._by_id.setdefault(asset.id, []).append(asset)
            elif asset.pattern is not None:
                patterns.append((re.compile(fnmatch.translate(asset.pattern)), asset))
        self._patterns = tuple(patterns)
        # Bounded: asset ids come from alert labels, which an attacker may influence.
        self.lookup = lru_cache(maxsize=4096)(self._lookup)

    def __len__(self) -> int:
        return len(self.assets)

    def _lookup(self, asset_id: str, platform: str | None) -> Asset | None:
        for asset in self._by_id.get(asset_id, ()):
            if _platform_fits(asset, platform):
                return asset
        for regex, asset in self._patterns:
            if regex.match(asset_id) and _platform_fits(asset, platform):
                return asset
        return None


def _platform_fits(asset: Asset, platform: str | None) -> bool:
    # An entry without a platform applies everywhere; an alert without one cannot exclude it.
    return asset.platform is None or platform is None or asset.platform == platform


def load_inventory(path: Path) -> AssetInventory:
    """Read and validate ``path``; every problem raises :class:`InventoryError`."""
    try:
        document = yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise InventoryError(f"{path}: cannot read asset inventory: {exc.strerror}") from exc
    except yaml.YAMLError as exc:
        raise InventoryError(f"{path}: not valid YAML: {exc}") from exc
    return parse_inventory(document, source=str(path))


def parse_inventory(document: object, *, source: str = "assets.yml") -> AssetInventory:
    if document is None:
        return AssetInventory()
    if not isinstance(document, Mapping) or not isinstance(document.get("assets"), list):
        raise InventoryError(f"{source}: expected a mapping with an 'assets' list")
    assets = tuple(
        _parse_entry(entry, f"{source}: assets[{i}]") for i, entry in enumerate(document["assets"])
    )
    return AssetInventory(assets)


def _parse_entry(entry: object, where: str) -> Asset:
    if not isinstance(entry, Mapping):
        raise InventoryError(f"{where}: must be a mapping")
    unknown = sorted(str(k) for k in entry if k not in _ENTRY_FIELDS)
    if unknown:
        raise InventoryError(f"{where}.{unknown[0]}: unknown field")
    fields = {key: _text(entry, key, where) for key in _ENTRY_FIELDS - {"tags"}}
    if (fields["id"] is None) == (fields["pattern"] is None):
        raise InventoryError(f"{where}: set exactly one of 'id' or 'pattern'")
    criticality = fields["criticality"]
    if criticality is not None:
        criticality = criticality.lower()
        if criticality not in CRITICALITY_LEVELS:
            allowed = "|".join(CRITICALITY_LEVELS)
            raise InventoryError(f"{where}.criticality: {criticality!r} is not one of {allowed}")
    tags = entry.get("tags") or []
    if not isinstance(tags, list) or not all(isinstance(t, str) for t in tags):
        raise InventoryError(f"{where}.tags: must be a list of strings")
    return Asset(
        id=fields["id"],
        pattern=fields["pattern"],
        platform=fields["platform"],
        owner=fields["owner"],
        environment=fields["environment"],
        criticality=criticality,
        tags=tuple(tags),
    )


def _text(entry: Mapping[str, Any], key: str, where: str) -> str | None:
    value = entry.get(key)
    if value is None:
        return None
    if not isinstance(value, str) or not value:
        raise InventoryError(f"{where}.{key}: must be a non-empty string")
    return value
