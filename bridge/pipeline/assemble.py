"""The bridge's pipeline, assembled in one place, in data-flow order.

receive (auth, validate) → persist happen in :mod:`bridge.receiver` before any stage runs,
because nothing may be acknowledged that is not stored. The stages below then see every stored
delivery, in this order.
"""

from __future__ import annotations

from bridge.config import BridgeConfig
from bridge.pipeline.announce import Announce
from bridge.pipeline.base import Pipeline


def build_pipeline(config: BridgeConfig) -> Pipeline:
    """The stages for ``config``; stages with settings take them from it."""
    return Pipeline(
        stages=[
            Announce(),
        ]
    )
