"""What pipeline stages share: the batch they pass along and the one signature they implement.

Stages run after the receiver has durably stored a delivery, in the order the pipeline lists
them (see :mod:`bridge.pipeline.assemble`). Each takes the batch and returns the batch the next
stage sees, so a stage can enrich it (classification, anomaly context) or narrow it (dedupe).
"""

from __future__ import annotations

import asyncio
import time
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


class Turn(Protocol):
    """A pass's place in the ordered part of the pipeline (see :meth:`Pipeline.run_many`)."""

    async def wait(self) -> None:
        """Return once every pass that started earlier has left the ordered part."""

    def leave(self) -> None:
        """This pass is done with the ordered part (idempotent)."""


class _Unordered:
    async def wait(self) -> None:
        return None

    def leave(self) -> None:
        return None


UNORDERED: Turn = _Unordered()
StageTimer = Callable[[str, float], None]  # (stage name, seconds)


def _untimed(stage: str, seconds: float) -> None:
    return None


@dataclass(frozen=True, slots=True)
class Pipeline:
    stages: Sequence[Stage]
    # The first and the last stage of the part that must run pass after pass, in the order
    # the passes started (see :meth:`run_many`); None: no such part.
    ordered_from: str | None = None
    ordered_until: str | None = None

    @property
    def names(self) -> list[str]:
        return [stage.name for stage in self.stages]

    async def run(
        self, batch: Batch, turn: Turn = UNORDERED, timer: StageTimer = _untimed
    ) -> Batch:
        """Every stage in order; raises :class:`StageFailed` naming the stage that broke."""
        return (await self.run_many([batch], turn, timer))[0]

    async def run_many(
        self, batches: Sequence[Batch], turn: Turn = UNORDERED, timer: StageTimer = _untimed
    ) -> list[Batch]:
        """Every stage over several deliveries at once: a :class:`BatchStage` sees them
        together, other stages one by one. A failure fails them all (the worker then retries
        each alone, so one bad delivery cannot hold up the others).

        From the ``ordered_from`` stage through the ``ordered_until`` stage, the worker's
        passes run one after another, in the order they started: they decide dedupe and write
        their results so that a pass sees every primary and every instance the passes before
        it created. The stages before and after overlap with other passes. ``timer`` gets
        each stage's time (the ordered part's first stage includes the wait for its turn)."""
        current = list(batches)
        for stage in self.stages:
            started = time.perf_counter()
            if stage.name == self.ordered_from:
                await turn.wait()
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
            timer(stage.name, time.perf_counter() - started)
            if stage.name == self.ordered_until:
                turn.leave()
        return current
