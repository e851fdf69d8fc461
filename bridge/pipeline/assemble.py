"""The bridge's pipeline, assembled in one place, in data-flow order.

receive (auth, validate) → persist happen in :mod:`bridge.receiver` before any stage runs,
because nothing may be acknowledged that is not stored. The stages below then see every stored
delivery, in this order::

    classify → anomaly context → dedupe → lifecycle (persist, timeline) → escalate → announce
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from bridge.classify import ClassificationEngine
from bridge.config import BridgeConfig
from bridge.dedupe import DedupeIndex
from bridge.metrics import BridgeMetrics
from bridge.pipeline.announce import Announce
from bridge.pipeline.anomaly import AnomalyContext, ScoreSource
from bridge.pipeline.base import Pipeline, StoreRef
from bridge.pipeline.classify import Classify
from bridge.pipeline.dedupe import Dedupe
from bridge.pipeline.escalate import Escalate
from bridge.pipeline.lifecycle import Lifecycle

if TYPE_CHECKING:  # the hub's module imports bridge.keys, which imports this package
    from bridge.escalation.runtime import NotificationHub


def build_pipeline(
    config: BridgeConfig,
    *,
    store: StoreRef,
    metrics: BridgeMetrics,
    dedupe_index: DedupeIndex,
    anomaly_scores: ScoreSource | None = None,
    notifications: NotificationHub | None = None,
) -> Pipeline:
    """The stages for ``config``; stages with settings take them from it."""
    engine = ClassificationEngine(config.classification)
    return Pipeline(
        stages=[
            Classify(engine, store),
            # Re-classifies only alerts whose related series score above the threshold.
            AnomalyContext(anomaly_scores, engine=engine, store=store),
            Dedupe(dedupe_index, config.dedupe, metrics),
            Lifecycle(store, metrics),
            # Wakes the escalation scheduler; deliveries run in the background.
            Escalate(notifications),
            Announce(),
        ],
        # Dedupe decides against the primaries earlier passes found, and the write creates or
        # changes instances those passes may have written: each in pass order, a pass
        # deciding while the one before it writes.
        ordered=("dedupe", "lifecycle"),
    )
