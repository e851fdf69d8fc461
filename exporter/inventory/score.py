"""The per-asset security score: 100 minus weighted open violations, floored at 0.

``score = max(0, 100 - 40*critical - 20*high - 10*medium - 5*low)``, counting the asset's
currently open ``secmon_rule_violation`` series by their (possibly dynamic) severity. So one
critical finding leaves 60, one high 80, three medium 70; an asset with no open violation
scores 100. Change events (``secmon_rule_matches_total``) do not count: they are history, not
an open condition. Criticality is deliberately not part of the score (it says how much an
asset matters, not how healthy it is); dashboards sort or filter by it through
``secmon_asset_info``.
"""

from __future__ import annotations

from collections.abc import Mapping

SEVERITY_WEIGHTS: Mapping[str, int] = {"critical": 40, "high": 20, "medium": 10, "low": 5}
MAX_SCORE = 100


def security_score(open_violations: Mapping[str, int]) -> int:
    """The score for one asset from its open violation counts by severity."""
    penalty = sum(SEVERITY_WEIGHTS.get(sev, 0) * n for sev, n in open_violations.items())
    return max(0, MAX_SCORE - penalty)
