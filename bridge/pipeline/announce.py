"""The ``announce`` stage: one log line per delivery that opened or resolved alerts.

This is what an operator watching ``secmon-bridge serve`` (or ``make run``) sees arrive.
Re-deliveries are not announced, so the log shows changes, not Alertmanager's re-sends. At
thousands of alerts a second a line per alert cost about 8% of the bridge's CPU, so INFO gets
one line per delivery naming the first few alerts, and DEBUG still has a line per alert.
"""

from __future__ import annotations

import logging

from bridge.pipeline.base import Batch
from bridge.store.base import ReceiptResult

logger = logging.getLogger("bridge.alerts")

LISTED = 5  # alerts named in the per-delivery line; the rest are counted


def describe(receipt: ReceiptResult) -> str:
    alert = receipt.alert
    return (
        f"{'resolved' if receipt.resolved else 'firing'} id={receipt.instance_id} "
        f"rule_id={alert.rule_id or '-'} severity={alert.severity or '-'} "
        f"asset={alert.asset_id or '-'}: {alert.title or alert.fingerprint}"
    )


class Announce:
    name = "announce"

    async def process(self, batch: Batch) -> Batch:
        changed = [r for r in batch.fresh if r.created or r.resolved]
        if not changed:
            return batch
        if logger.isEnabledFor(logging.DEBUG):
            for receipt in changed:
                logger.debug("alert %s", describe(receipt))
        if logger.isEnabledFor(logging.INFO):
            resolved = sum(r.resolved for r in changed)
            listed = "; ".join(describe(r) for r in changed[:LISTED])
            more = f"; and {len(changed) - LISTED} more" if len(changed) > LISTED else ""
            logger.info(
                "alerts from group %s: %d firing, %d resolved: %s%s",
                batch.delivery.group_key,
                len(changed) - resolved,
                resolved,
                listed,
                more,
            )
        return batch
