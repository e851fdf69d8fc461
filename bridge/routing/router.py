"""The channels of one escalation level of one alert, and whether a channel is quiet now.

- L1 (the first notice): the channels named in the alert's ``channels`` label (from the rule's
  ``notify`` action), the channels of every matching route, and the channels of the level's
  recipients;
- L2 and up: the channels of the level's recipients (``escalation.recipients``).

Names that are not configured channels are dropped with a warning, once per name, and counted
through ``on_unknown`` every time (a rule may name a channel this deployment does not have);
each channel appears once.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Collection
from dataclasses import dataclass, field
from datetime import datetime

from bridge.escalation.policy import EscalationConfig, Level
from bridge.escalation.records import DueAlert
from bridge.routing.config import RoutingConfig

logger = logging.getLogger(__name__)


@dataclass
class Router:
    routing: RoutingConfig
    escalation: EscalationConfig
    configured: Collection[str]
    # Called with each skipped name, per level routed (the bridge counts them in a metric).
    on_unknown: Callable[[str], None] = lambda name: None
    _warned: set[str] = field(default_factory=set)

    def __call__(self, alert: DueAlert, level: Level) -> list[str]:
        names: list[str] = []
        if level.level == 1:
            label = alert.labels.get("channels", "")
            names.extend(name.strip() for name in label.split(",") if name.strip())
            labels = dict(alert.labels)
            for route in self.routing.routes:
                if route.matches(severity=alert.severity, category=alert.category, labels=labels):
                    names.extend(route.channels)
        names.extend(self.escalation.channels_for(level.recipients))
        known = []
        for name in dict.fromkeys(names):
            if name in self.configured:
                known.append(name)
                continue
            self.on_unknown(name)
            if name not in self._warned:
                self._warned.add(name)
                logger.warning("alert names channel %r, which is not configured: skipped", name)
        return known

    def quiet(self, channel: str, *, severity: str | None, at: datetime) -> bool:
        """True while ``channel`` is in its quiet hours for alerts of ``severity``."""
        rules = self.routing.channels.get(channel)
        if rules is None or not rules.intervals or severity in rules.quiet_hours_except:
            return False
        return any(interval.contains(at, rules.tz) for interval in rules.intervals)
