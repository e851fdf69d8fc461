"""The ``escalate`` stage: escalation policy levels and routing to notifiers.

A pass-through until issue 6 fills it (the ``escalations`` and ``notifications`` tables are
already migrated); it sits in the pipeline now so the assembly reads like the data flow.
"""

from __future__ import annotations

from bridge.pipeline.base import Batch


class Escalate:
    name = "escalate"

    async def process(self, batch: Batch) -> Batch:
        return batch
