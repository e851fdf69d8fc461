"""The seed's ``AlertClassificationEngine``: severity with modifiers, impact, urgency, confidence.

Severity (the seed's ``calculate_severity``): the rule's level (low=0 .. critical=3) plus the
modifiers (critical asset +1, low-criticality asset -1, production +1, business hours +0.5,
anomalous context +0.5; weights configurable). The seed indexes its level list with that float
sum, which cannot work, so we pick a rule: **the sum is rounded down (floor), then clamped**.
A half step never promotes on its own; two half steps (business hours and an anomaly) make a
whole one. This keeps both seed examples true at any hour: high + critical asset + production
(+ business hours) = 4.5 -> critical; medium + low-criticality asset in staging = 0, or 0.5 in
business hours -> low (rounding half up would have made it medium by day).

Every decision appends a :class:`Reason`, so the API can answer "why is this critical?".
"""

from __future__ import annotations

import math
from datetime import datetime

from bridge.classify.config import ClassificationConfig
from bridge.classify.inventory import Asset, AssetInventory, load_inventory
from bridge.classify.model import (
    CRITICALITY_LEVELS,
    SEVERITY_LEVELS,
    URGENCY_LEVELS,
    AlertFacts,
    Classification,
    ClassificationContext,
    HistoryCounts,
    Reason,
)
from bridge.classify.playbooks import PlaybookLibrary
from bridge.classify.timeintervals import in_intervals

_CRITICALITY_LABELS = ("criticality", "asset_criticality")


def _signed(step: float) -> str:
    return f"{step:+g}"


def _clamp(rank: int, levels: tuple[str, ...]) -> int:
    return max(0, min(len(levels) - 1, rank))


class ClassificationEngine:
    """Classifies one alert at a time; holds only precompiled, read-only state."""

    def __init__(self, config: ClassificationConfig) -> None:
        self.config = config
        self.inventory = (
            load_inventory(config.inventory_path) if config.inventory_path else AssetInventory()
        )
        self.playbooks = PlaybookLibrary(config.playbooks_dir)
        # Longest prefix first, so the first hit is the most specific one.
        self._prefixes = sorted(config.category_prefixes.items(), key=lambda kv: -len(kv[0]))
        self._production = frozenset(config.production_environments)
        # Read once: the config's compiled intervals sit behind pydantic attribute look-ups.
        self._intervals = config.intervals
        self._zone = config.zone
        # The alerts of one delivery share its receive time: decide business hours once.
        self._last_hours: tuple[datetime, bool] | None = None
        self._last_hours_reason: tuple[datetime, Reason] | None = None

    def _business_hours_reason(self, moment: datetime, modifier: float) -> Reason:
        """The reason for ``moment`` being in business hours, made once per delivery (its
        alerts share the receive time; the local time takes a zone conversion to write)."""
        last = self._last_hours_reason
        if last is not None and last[0] == moment:
            return last[1]  # the modifier is the engine's config: fixed
        local = f"{moment.astimezone(self._zone):%a %H:%M %Z}"
        reason = Reason("business_hours", _signed(modifier), f"{local} is within business hours")
        self._last_hours_reason = (moment, reason)
        return reason

    def in_business_hours(self, moment: datetime) -> bool:
        last = self._last_hours
        if last is not None and last[0] == moment:
            return last[1]
        inside = in_intervals(self._intervals, moment, self._zone)
        self._last_hours = (moment, inside)
        return inside

    async def classify(
        self, facts: AlertFacts, ctx: ClassificationContext, *, now: datetime
    ) -> Classification:
        """Classify ``facts``; ``now`` decides business hours (pass the receipt time)."""
        reasons: list[Reason] = []
        mods = self.config.modifiers
        asset = self.inventory.lookup(facts.asset_id, facts.platform) if facts.asset_id else None

        base = self._base_severity(facts, reasons)
        score = float(SEVERITY_LEVELS.index(base))
        criticality, criticality_source = self._criticality(facts, asset, reasons)
        if criticality == "critical" and mods.critical_asset:
            score += mods.critical_asset
            reasons.append(
                Reason(
                    "asset_criticality",
                    _signed(mods.critical_asset),
                    f"asset {facts.asset_id} is critical ({criticality_source})",
                )
            )
        elif criticality == "low" and mods.low_asset:
            score += mods.low_asset
            reasons.append(
                Reason(
                    "asset_criticality",
                    _signed(mods.low_asset),
                    f"asset {facts.asset_id} has low criticality ({criticality_source})",
                )
            )
        environment = facts.environment or (asset.environment if asset else None)
        production = environment in self._production
        if production and mods.production:
            score += mods.production
            reasons.append(
                Reason("environment", _signed(mods.production), f"environment {environment}")
            )
        business_hours = self.in_business_hours(now)
        if business_hours and mods.business_hours:
            score += mods.business_hours
            reasons.append(self._business_hours_reason(now, mods.business_hours))
        anomalous = (
            facts.anomaly_score is not None and facts.anomaly_score > self.config.anomaly_threshold
        )
        if anomalous and mods.anomaly:
            score += mods.anomaly
            reasons.append(
                Reason(
                    "anomaly",
                    _signed(mods.anomaly),
                    f"anomaly score {facts.anomaly_score:.2f} > {self.config.anomaly_threshold:g}",
                )
            )
        severity = self._round(base, score, reasons)

        category = self._category(facts, reasons)
        impact = self._business_impact(criticality, production, environment, reasons)
        history = await ctx.history(facts.rule_id, facts.asset_id)
        related = tuple(await ctx.related_open(facts.rule_id, facts.asset_id, facts.alert_id))
        reasons.append(
            Reason(
                "history",
                str(history.last_30d),
                f"same rule and asset fired {history.last_7d} times in 7 days, "
                f"{history.last_30d} in 30 days",
            )
        )
        if related:
            shown = ", ".join(f"#{i}" for i in related[:10])
            reasons.append(
                Reason(
                    "related_incidents",
                    str(len(related)),
                    f"open alerts on the same asset or rule: {shown}",
                )
            )
        urgency = self._urgency(severity, business_hours, history, reasons)
        confidence = self._confidence(facts, asset, criticality_source, history, reasons)
        playbook = self.playbooks.find(facts.annotations, facts.rule_id, category)
        if playbook is not None:
            reasons.append(Reason("remediation_playbook", "found", playbook.source))

        return Classification(
            severity=severity,
            base_severity=base,
            category=category,
            business_impact=impact,
            urgency=urgency,
            confidence=confidence,
            reasons=tuple(reasons),
            asset_criticality=criticality,
            historical_frequency=history,
            related_incidents=related,
            remediation_playbook=playbook.value if playbook else None,
            severity_score=score,
        )

    def _base_severity(self, facts: AlertFacts, reasons: list[Reason]) -> str:
        label = (facts.severity or "").lower()
        if label in SEVERITY_LEVELS:
            reasons.append(Reason("base_severity", label, f"rule severity label is {label}"))
            return label
        detail = (
            f"unknown severity label {facts.severity!r}" if facts.severity else "no severity label"
        )
        reasons.append(Reason("base_severity", "medium", f"{detail}; defaulting to medium"))
        return "medium"

    def _criticality(
        self, facts: AlertFacts, asset: Asset | None, reasons: list[Reason]
    ) -> tuple[str, str]:
        """The asset's criticality and where it came from (label, inventory or default)."""
        for name in _CRITICALITY_LABELS:
            value = facts.labels.get(name, "").lower()
            if value in CRITICALITY_LEVELS:
                return value, f"label {name}"
            if value:
                reasons.append(
                    Reason("asset_criticality", "ignored", f"label {name}={value!r} is not a level")
                )
        if asset is not None and asset.criticality is not None:
            return asset.criticality, f"inventory {asset.name}"
        reasons.append(
            Reason("asset_criticality", "medium", "asset criticality unknown; assuming medium")
        )
        return "medium", "default"

    def _round(self, base: str, score: float, reasons: list[Reason]) -> str:
        # round(…, 6) absorbs float noise such as 2.9999999 from fractional weights.
        rank = _clamp(math.floor(round(score, 6)), SEVERITY_LEVELS)
        severity = SEVERITY_LEVELS[rank]
        reasons.append(
            Reason(
                "severity",
                severity,
                f"{base} ({SEVERITY_LEVELS.index(base)}) with modifiers = {score:g}; "
                f"rounded down and clamped to 0-3 -> {severity}",
            )
        )
        return severity

    def _category(self, facts: AlertFacts, reasons: list[Reason]) -> str:
        if facts.category:
            reasons.append(Reason("category", facts.category, "category label"))
            return facts.category
        rule = facts.rule_id or ""
        for prefix, category in self._prefixes:
            if rule.startswith(prefix):
                reasons.append(Reason("category", category, f"rule id prefix {prefix!r}"))
                return category
        category = self.config.default_category
        reasons.append(Reason("category", category, "no category label or known rule prefix"))
        return category

    def _business_impact(
        self, criticality: str, production: bool, environment: str | None, reasons: list[Reason]
    ) -> str:
        # Criticality sets the ceiling; outside production the same asset matters one step less.
        rank = CRITICALITY_LEVELS.index(criticality) - (0 if production else 1)
        impact = CRITICALITY_LEVELS[_clamp(rank, CRITICALITY_LEVELS)]
        where = environment or "unknown environment"
        step = "" if production else ", one step lower outside production"
        reasons.append(Reason("business_impact", impact, f"{criticality} asset in {where}{step}"))
        return impact

    def _urgency(
        self, severity: str, business_hours: bool, history: HistoryCounts, reasons: list[Reason]
    ) -> str:
        rank = SEVERITY_LEVELS.index(severity)
        why = [f"severity {severity}"]
        if business_hours:
            rank += 1
            why.append("+1 in business hours")
        if history.last_7d >= self.config.recurring_threshold:
            rank -= 1
            why.append(f"-1 recurring ({history.last_7d} in 7 days)")
        urgency = URGENCY_LEVELS[_clamp(rank, URGENCY_LEVELS)]
        reasons.append(Reason("urgency", urgency, ", ".join(why)))
        return urgency

    def _confidence(
        self,
        facts: AlertFacts,
        asset: Asset | None,
        criticality_source: str,
        history: HistoryCounts,
        reasons: list[Reason],
    ) -> float:
        value = 0.6
        why: list[str] = []
        if asset is not None:
            value += 0.2
            why.append("+0.2 asset in inventory")
        elif criticality_source.startswith("label"):
            value += 0.1
            why.append("+0.1 criticality from labels")
        else:
            value -= 0.2
            why.append("-0.2 asset unknown to the inventory")
        if facts.rule_id and (facts.severity or "").lower() in SEVERITY_LEVELS:
            value += 0.1
            why.append("+0.1 rule id and severity present")
        else:
            value -= 0.1
            why.append("-0.1 rule id or severity missing")
        if history.last_30d:
            bonus = min(0.1, 0.02 * history.last_30d)
            value += bonus
            why.append(f"+{bonus:.2f} seen before")
        if facts.anomaly_score is not None and facts.anomaly_score > self.config.anomaly_threshold:
            value += 0.1
            why.append("+0.1 anomalous context")
        confidence = round(max(0.05, min(1.0, value)), 2)
        reasons.append(Reason("confidence", f"{confidence:.2f}", "0.60 " + ", ".join(why)))
        return confidence
