"""Asset inventory: ``assets.yml`` merged with discovered assets, event enrichment, scores."""

from exporter.inventory.model import AssetEntry, InventoryConfig, InventoryError, load_assets
from exporter.inventory.score import SEVERITY_WEIGHTS, security_score
from exporter.inventory.store import Asset, Inventory

__all__ = [
    "SEVERITY_WEIGHTS",
    "Asset",
    "AssetEntry",
    "Inventory",
    "InventoryConfig",
    "InventoryError",
    "load_assets",
    "security_score",
]
