"""The ``escalate`` stage: wake the escalation scheduler, update messages Alertmanager resolved.

Nothing is sent from here: the webhook answers as soon as the pipeline ran, and deliveries run
as background tasks. New open alerts wake the scheduler, which claims their L1 at once (and
would on its next tick anyway: the store, not this stage, is the source of truth). Alerts
Alertmanager resolved get their sent messages updated.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from bridge.pipeline.base import Batch

if TYPE_CHECKING:  # the hub's module imports bridge.keys, which imports this package
    from bridge.escalation.runtime import NotificationHub


class Escalate:
    name = "escalate"

    def __init__(self, hub: NotificationHub | None = None) -> None:
        self._hub = hub

    async def process(self, batch: Batch) -> Batch:
        hub = self._hub
        if hub is None:
            return batch
        if hub.scheduler is not None and any(not r.resolved for r in batch.created):
            hub.scheduler.kick()
        if hub.dispatcher is not None:
            for receipt in batch.fresh:
                if receipt.resolved and not receipt.created:
                    hub.dispatcher.update(receipt.instance_id)
        return batch
