"""Alert classification: the seed's ``AlertClassificationEngine`` with reasons for every step.

The integration side builds :class:`AlertFacts`, implements :class:`ClassificationContext`
against the store, and calls :meth:`ClassificationEngine.classify`.
"""

from bridge.classify.config import ClassificationConfig, SeverityModifiers
from bridge.classify.engine import ClassificationEngine
from bridge.classify.inventory import Asset, AssetInventory, InventoryError, load_inventory
from bridge.classify.model import (
    SEVERITY_LEVELS,
    URGENCY_LEVELS,
    AlertFacts,
    Classification,
    ClassificationContext,
    HistoryCounts,
    Reason,
)
from bridge.classify.timeintervals import TimeInterval, TimeIntervalError, parse_time_intervals

__all__ = [
    "SEVERITY_LEVELS",
    "URGENCY_LEVELS",
    "AlertFacts",
    "Asset",
    "AssetInventory",
    "Classification",
    "ClassificationConfig",
    "ClassificationContext",
    "ClassificationEngine",
    "HistoryCounts",
    "InventoryError",
    "Reason",
    "SeverityModifiers",
    "TimeInterval",
    "TimeIntervalError",
    "load_inventory",
    "parse_time_intervals",
]
