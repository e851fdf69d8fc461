"""What pipeline stages share: the batch they pass along and the one signature they implement.

Stages run after the receiver has durably stored a delivery, in the order the pipeline lists
them (see :mod:`bridge.pipeline.assemble`). Each takes the batch and returns the batch the next
stage sees, so a stage can enrich it (classification, anomaly context) or narrow it (dedupe).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

from bridge.store.base import Delivery, ReceiptResult


@dataclass(frozen=True, slots=True)
class Batch:
    """One stored delivery and what storing each of its alerts did."""

    delivery: Delivery
    receipts: Sequence[ReceiptResult]

    @property
    def fresh(self) -> list[ReceiptResult]:
        """Receipts that changed something: everything except exact re-deliveries."""
        return [r for r in self.receipts if not r.duplicate]


class StopPipeline(Exception):
    """Raised by a stage to end processing of this batch on purpose (e.g. all duplicates)."""


class Stage(Protocol):
    """A pipeline stage: a name (for logs and metrics) and one coroutine."""

    @property
    def name(self) -> str: ...

    async def process(self, batch: Batch) -> Batch:
        """Return the batch the next stage sees; raise :class:`StopPipeline` to end here."""
        ...


class StageFailed(Exception):
    """A stage raised; the alerts are stored, the rest of the pipeline did not run."""

    def __init__(self, stage: str, cause: BaseException) -> None:
        super().__init__(f"pipeline stage {stage!r} failed: {cause!r}")
        self.stage = stage


@dataclass(frozen=True, slots=True)
class Pipeline:
    stages: Sequence[Stage]

    @property
    def names(self) -> list[str]:
        return [stage.name for stage in self.stages]

    async def run(self, batch: Batch) -> Batch:
        """Run every stage in order; raises :class:`StageFailed` naming the stage that broke."""
        for stage in self.stages:
            try:
                batch = await stage.process(batch)
            except StopPipeline:
                break
            except Exception as exc:
                raise StageFailed(stage.name, exc) from exc
        return batch
