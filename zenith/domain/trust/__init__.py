"""The trust layer: between a view count and money.

- ``plausibility``: is one answer possible at all (refused answers are never credited);
- ``growth``: is the new growth like the video's own past and the creator's other videos
  (doubtful growth is held for an admin);
- ``signals``: what was noticed, with the numbers behind it;
- ``risk``: a creator's risk score, which gates Gold's automatic approvals and payouts;
- ``policy``: every threshold in one object, built from the settings.
"""

from zenith.domain.trust.growth import GrowthPoint, GrowthRules, GrowthVerdict, judge_growth, peak_rate
from zenith.domain.trust.plausibility import PlausibilityLimits, RefusalReason, check_answer
from zenith.domain.trust.policy import TrustPolicy
from zenith.domain.trust.risk import RiskRules, RiskScore, risk_score
from zenith.domain.trust.signals import HOLDING_KINDS, Signal, SignalKind

__all__ = [
    "HOLDING_KINDS",
    "GrowthPoint",
    "GrowthRules",
    "GrowthVerdict",
    "PlausibilityLimits",
    "RefusalReason",
    "RiskRules",
    "RiskScore",
    "Signal",
    "SignalKind",
    "TrustPolicy",
    "check_answer",
    "judge_growth",
    "peak_rate",
    "risk_score",
]
