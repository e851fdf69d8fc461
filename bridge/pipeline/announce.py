"""The ``announce`` stage: one log line per alert that opened or resolved.

This is what an operator watching ``secmon-bridge serve`` (or ``make run``) sees arrive.
Re-deliveries are not announced, so the log shows changes, not Alertmanager's re-sends.
"""

from __future__ import annotations

import logging

from bridge.pipeline.base import Batch

logger = logging.getLogger("bridge.alerts")


class Announce:
    name = "announce"

    async def process(self, batch: Batch) -> Batch:
        for receipt in batch.fresh:
            if not (receipt.created or receipt.resolved):
                continue
            alert = receipt.alert
            logger.info(
                "alert %s id=%d rule_id=%s severity=%s asset=%s: %s",
                "resolved" if receipt.resolved else "firing",
                receipt.instance_id,
                alert.rule_id or "-",
                alert.severity or "-",
                alert.asset_id or "-",
                alert.title or alert.fingerprint,
            )
        return batch
