"""What pipeline stages share: the batch they pass along and the one signature they implement.

Stages run after the receiver has durably stored a delivery, in the order the pipeline lists
them (see :mod:`bridge.pipeline.assemble`). Each takes the batch and returns the batch the next
stage sees, so a stage can enrich it (classification, anomaly context) or narrow it (dedupe).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import field
from typing import Any, Protocol, cast, runtime_checkable

from bridge.classify import Classification
from bridge.dedupe import DedupeDecision
from bridge.frozen import frozen
from bridge.store.base import AlertStore, Delivery, ReceiptResult

# Stages are built with the app, the store opens when it starts: stages look it up per run.
StoreRef = Callable[[], AlertStore]


@frozen
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


@runtime_checkable
class PreparedStage(BatchStage, Protocol):
    """A batch stage whose work splits in two: ``prepare`` (any time, beside other passes) and
    ``apply`` (what must happen in pass order). In an ordered section, the pipeline prepares
    before the pass waits for its turn, so the section holds only what needs the order: for
    the lifecycle stage, the store write's round trip rather than also planning the write and
    encoding its arguments. ``process_many`` must equal ``apply(await prepare(...))``."""

    async def prepare(self, batches: Sequence[Batch]) -> Any: ...

    async def apply(self, prepared: Any) -> list[Batch]: ...


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
    """A pass's place in the ordered sections of the pipeline (see :meth:`Pipeline.run_many`)."""

    async def wait(self, section: str) -> None:
        """Return once every pass that started earlier has left ``section``."""

    def leave(self, section: str) -> None:
        """This pass is done with ``section`` (idempotent)."""


class _Unordered:
    async def wait(self, section: str) -> None:
        return None

    def leave(self, section: str) -> None:
        return None


UNORDERED: Turn = _Unordered()
StageTimer = Callable[[str, float], None]  # (stage name, seconds)


def _untimed(stage: str, seconds: float) -> None:
    return None


@frozen
class Pipeline:
    stages: Sequence[Stage]
    # Stages that run pass after pass, each in the order the passes started (see
    # :meth:`run_many`); every other stage overlaps with other passes.
    ordered: Sequence[str] = ()
    # Per stage: is it a PreparedStage, a BatchStage, in an ordered section (decided once:
    # isinstance against a runtime-checkable protocol is slow on the hot path).
    _kinds: tuple[tuple[bool, bool, bool], ...] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        kinds = tuple(
            (isinstance(s, PreparedStage), isinstance(s, BatchStage), s.name in self.ordered)
            for s in self.stages
        )
        object.__setattr__(self, "_kinds", kinds)

    @property
    def names(self) -> list[str]:
        return [stage.name for stage in self.stages]

    async def run(
        self,
        batch: Batch,
        turn: Turn = UNORDERED,
        timer: StageTimer = _untimed,
        waited: StageTimer = _untimed,
    ) -> Batch:
        """Every stage in order; raises :class:`StageFailed` naming the stage that broke."""
        return (await self.run_many([batch], turn, timer, waited))[0]

    async def run_many(
        self,
        batches: Sequence[Batch],
        turn: Turn = UNORDERED,
        timer: StageTimer = _untimed,
        waited: StageTimer = _untimed,
    ) -> list[Batch]:
        """Every stage over several deliveries at once: a :class:`BatchStage` sees them
        together, other stages one by one. A failure fails them all (the worker then retries
        each alone, so one bad delivery cannot hold up the others).

        Each ``ordered`` stage is a section the worker's passes go through one after another,
        in the order they started: dedupe decides against every primary the passes before it
        found, and the write sees every instance they created. A pass decides dedupe while
        the one before it writes, and a :class:`PreparedStage` prepares before its turn.
        ``timer`` gets each stage's time without the wait for its turn, ``waited`` that wait."""
        current = list(batches)
        for stage, (two_phase, batched, ordered) in zip(self.stages, self._kinds, strict=True):
            started = time.perf_counter()
            wait = 0.0
            try:
                if two_phase:
                    prepared = await cast("PreparedStage", stage).prepare(current)
                    if ordered:
                        wait = await self._wait(turn, stage.name)
                    current = await cast("PreparedStage", stage).apply(prepared)
                else:
                    if ordered:
                        wait = await self._wait(turn, stage.name)
                    current = await self._process(stage, batched, current)
            except Exception as exc:
                raise StageFailed(stage.name, exc) from exc
            timer(stage.name, time.perf_counter() - started - wait)
            if ordered:
                waited(stage.name, wait)
                turn.leave(stage.name)
        return current

    @staticmethod
    async def _wait(turn: Turn, section: str) -> float:
        started = time.perf_counter()
        await turn.wait(section)
        return time.perf_counter() - started

    @staticmethod
    async def _process(stage: Stage, batched: bool, batches: list[Batch]) -> list[Batch]:
        if batched:
            return await cast("BatchStage", stage).process_many(batches)
        done = []
        for batch in batches:
            done.append(await stage.process(batch))
            await yield_to_loop()
        return done
