"""What pipeline stages share: the batch they pass along and the one signature they implement.

Stages run after the receiver has durably stored a delivery, in the order the pipeline lists
them (see :mod:`bridge.pipeline.assemble`). Each takes the batch and returns the batch the next
stage sees, so a stage can enrich it (classification, anomaly context) or narrow it (dedupe).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable

from bridge.classify import Classification
from bridge.dedupe import DedupeDecision
from bridge.store.base import AlertStore, Delivery, ReceiptResult

# Stages are built with the app, the store opens when it starts: stages look it up per run.
StoreRef = Callable[[], AlertStore]


@dataclass(frozen=True, slots=True)
class Batch:
    """One stored delivery, what storing each alert did, and what the stages found so far.

    Stages add their findings keyed by alert instance id (``dataclasses.replace``), so every
    later stage, and the lifecycle stage that persists them, sees them all.
    """

    delivery: Delivery
    receipts: Sequence[ReceiptResult]
    classifications: Mapping[int, Classification] = field(default_factory=dict)
    # Anomaly context per alert: current scores of related series (the anomaly stage).
    anomaly: Mapping[int, Mapping[str, Any]] = field(default_factory=dict)
    dedupe: Mapping[int, DedupeDecision] = field(default_factory=dict)

    @property
    def fresh(self) -> list[ReceiptResult]:
        """Receipts that changed something: everything except exact re-deliveries."""
        return [r for r in self.receipts if not r.duplicate]

    @property
    def created(self) -> list[ReceiptResult]:
        """Receipts that created an alert instance: the alerts to classify and dedupe."""
        return [r for r in self.receipts if r.created]


class Stage(Protocol):
    """A pipeline stage: a name (for logs and metrics) and one coroutine."""

    @property
    def name(self) -> str: ...

    async def process(self, batch: Batch) -> Batch:
        """Return the batch the next stage sees."""
        ...


@runtime_checkable
class BatchStage(Stage, Protocol):
    """A stage that also runs several stored deliveries in one go (one store query, one
    Redis call, one write for all of them), which is what lets the worker keep up with
    thousands of alerts a second. It must decide exactly what ``process`` would per batch."""

    async def process_many(self, batches: Sequence[Batch]) -> list[Batch]: ...


async def yield_to_loop() -> None:
    """Let the event loop run other tasks (the webhook) between deliveries of a pass: the
    stages' work is CPU-bound Python, and a whole pass at once would hold every request that
    arrives meanwhile for its full length."""
    await asyncio.sleep(0)


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
        """Every stage in order; raises :class:`StageFailed` naming the stage that broke."""
        return (await self.run_many([batch]))[0]

    async def run_many(self, batches: Sequence[Batch]) -> list[Batch]:
        """Every stage over several deliveries at once: a :class:`BatchStage` sees them
        together, other stages one by one. A failure fails them all (the worker then retries
        each alone, so one bad delivery cannot hold up the others)."""
        current = list(batches)
        for stage in self.stages:
            try:
                if isinstance(stage, BatchStage):
                    current = await stage.process_many(current)
                else:
                    done = []
                    for batch in current:
                        done.append(await stage.process(batch))
                        await yield_to_loop()
                    current = done
            except Exception as exc:
                raise StageFailed(stage.name, exc) from exc
        return current
