"""The ``anomaly`` stage: anomaly context for each new alert (scores from Prometheus).

A pass-through until issue 7 fills it: it attaches an empty context per created alert, so
later stages and the API already have the place where scores will appear.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any

from bridge.pipeline.base import Batch


class AnomalyContext:
    name = "anomaly"

    async def process(self, batch: Batch) -> Batch:
        context: dict[int, Mapping[str, Any]] = dict(batch.anomaly)
        for receipt in batch.created:
            context.setdefault(receipt.instance_id, {})
        return dataclasses.replace(batch, anomaly=context)
