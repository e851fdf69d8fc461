"""The ``assets.yml`` schema: declared assets, their owners, environments and criticality.

Example (``examples/assets.yml``)::

    assets:
      - platform: kong
        id: edge                 # exact asset name, as collectors report it
        owner: team-gateway
        environment: production
        criticality: critical
        tags: [pci]
      - platform: github
        pattern: "acme/internal-*"   # fnmatch glob; first matching pattern wins
        owner: team-platform
        criticality: low

An exact ``id`` beats any ``pattern``; among patterns, the first in file order wins. Omitted
fields add nothing (the event keeps the environment its collector gave it).
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

Criticality = Literal["critical", "high", "medium", "low"]
CRITICALITIES: tuple[Criticality, ...] = ("critical", "high", "medium", "low")


class InventoryError(Exception):
    """``assets.yml`` is unusable; ``problems`` lists every reason with its field path."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("\n".join(problems))
        self.problems = problems


class AssetEntry(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    platform: Annotated[str, Field(min_length=1)]
    id: str | None = None
    pattern: str | None = None
    owner: str | None = None
    environment: str | None = None
    criticality: Criticality | None = None
    tags: tuple[str, ...] = ()

    @model_validator(mode="after")
    def _id_or_pattern(self) -> AssetEntry:
        if (self.id is None) == (self.pattern is None):
            raise ValueError("set exactly one of id or pattern")
        return self


class AssetsFile(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    assets: list[AssetEntry] = Field(default_factory=list)


class InventoryConfig(BaseModel):
    """``inventory: {path: assets.yml}`` in the exporter config; no path means discovery only."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    path: Path | None = None

    @model_validator(mode="after")
    def _loadable(self) -> InventoryConfig:
        # Checked at config load so --check-config reports a broken assets.yml up front.
        if self.path is not None:
            try:
                load_assets(self.path)
            except InventoryError as exc:
                raise ValueError("; ".join(exc.problems)) from None
        return self


def load_assets(path: Path) -> list[AssetEntry]:
    """Parse and validate ``assets.yml``; raise :class:`InventoryError` listing every problem."""
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except OSError as exc:
        raise InventoryError([f"{path}: cannot read: {exc.strerror}"]) from None
    except yaml.YAMLError as exc:
        raise InventoryError([f"{path}: not valid YAML: {exc}"]) from None
    try:
        return AssetsFile.model_validate(raw).assets
    except ValidationError as exc:
        problems = [
            f"{path}: {'.'.join(str(p) for p in e['loc']) or '(top level)'}: {e['msg']}"
            for e in exc.errors(include_input=False, include_url=False)
        ]
        raise InventoryError(problems) from None
