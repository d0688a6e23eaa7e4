"""A creator's risk: how much of what they bring has looked wrong.

The score adds ``signal_weight`` per signal still open (not cleared by an admin who
released the held growth) and ``rejected_weight`` per rejected item in the creator's
history (held growth reversed, videos rejected by moderation). A creator is low-risk
while the score is at most ``low_risk_max``; only low-risk Gold creators keep Gold's
automatic video approval and automatic payouts.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from zenith.domain.trust.signals import SignalKind

__all__ = ["RiskRules", "RiskScore", "risk_score"]


@dataclass(frozen=True)
class RiskRules:
    """Parameters (settings in brackets):
    signal_weight: per open signal (TRUST_RISK_SIGNAL_WEIGHT, 3).
    rejected_weight: per rejected item (TRUST_RISK_REJECTED_WEIGHT, 1).
    low_risk_max: the highest score that is still low risk (TRUST_LOW_RISK_MAX, 2):
      with the defaults one open signal ends low risk, two rejected items do not.
    """

    signal_weight: int = 3
    rejected_weight: int = 1
    low_risk_max: int = 2


# Evidence about the data, not the creator: a platform's garbage answer says nothing of them.
NEUTRAL_KINDS = frozenset({SignalKind.IMPLAUSIBLE})


@dataclass(frozen=True)
class RiskScore:
    score: int
    low: bool
    open_signals: int
    rejected_items: int


def risk_score(*, open_signals: Mapping[str, int], rejected_items: int, rules: RiskRules) -> RiskScore:
    """The score from open signal counts by kind and the count of rejected items."""
    counted = sum(count for kind, count in open_signals.items() if kind not in NEUTRAL_KINDS)
    score = counted * rules.signal_weight + max(0, rejected_items) * rules.rejected_weight
    return RiskScore(
        score=score, low=score <= rules.low_risk_max, open_signals=counted, rejected_items=max(0, rejected_items)
    )
