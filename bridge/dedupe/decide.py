"""Readable decisions, built the same way by both index backends."""

from __future__ import annotations

from bridge.dedupe.config import DedupeConfig
from bridge.dedupe.model import DedupeCandidate, DedupeDecision
from bridge.dedupe.similarity import Signature, explain, score


def already_primary(c: DedupeCandidate) -> DedupeDecision:
    # A retried call for an alert that already is a primary must not turn it into a duplicate.
    return DedupeDecision(None, 0.0, False, (f"alert #{c.alert_id} is already a primary",))


def exact(c: DedupeCandidate, primary_id: int, cfg: DedupeConfig) -> DedupeDecision:
    return DedupeDecision(
        primary_id,
        1.0,
        True,
        (f"fingerprint {c.fingerprint} seen on #{primary_id} within {cfg.window}",),
    )


def similar(
    c: DedupeCandidate, sig: Signature, primary_id: int, other: Signature, cfg: DedupeConfig
) -> DedupeDecision:
    value = score(sig, other, cfg.weights)
    return DedupeDecision(
        primary_id,
        value,
        False,
        (
            *explain(sig, other, cfg.weights),
            f"similarity {value:.3f} > threshold {cfg.threshold:g}: duplicate of #{primary_id}",
        ),
    )


def new_primary(
    sig: Signature, best: tuple[int, Signature] | None, cfg: DedupeConfig
) -> DedupeDecision:
    if best is None:
        return DedupeDecision(
            None,
            0.0,
            False,
            (f"no primary in the window shares enough to score above {cfg.threshold:g}",),
        )
    best_id, other = best
    value = score(sig, other, cfg.weights)
    return DedupeDecision(
        None,
        value,
        False,
        (f"best match #{best_id} scored {value:.3f}, not above {cfg.threshold:g}: new primary",),
    )
