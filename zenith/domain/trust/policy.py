"""All the trust layer's thresholds in one object, built from the settings."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal
from typing import Protocol

from zenith.domain.trust.growth import GrowthRules
from zenith.domain.trust.plausibility import PlausibilityLimits
from zenith.domain.trust.risk import RiskRules

__all__ = ["TrustPolicy", "TrustSettings"]


class TrustSettings(Protocol):
    """The ``trust_*`` settings the policy is built from (``zenith.config.Settings`` has them;
    the domain names only what it reads, so it imports nothing of the project)."""

    @property
    def trust_max_views(self) -> int: ...
    @property
    def trust_max_likes_per_view(self) -> Decimal: ...
    @property
    def trust_spike_factor(self) -> Decimal: ...
    @property
    def trust_rate_floor_per_hour(self) -> int: ...
    @property
    def trust_min_views_for_signal(self) -> int: ...
    @property
    def trust_min_likes_per_view(self) -> Decimal: ...
    @property
    def trust_engagement_min_views(self) -> int: ...
    @property
    def trust_late_grace_hours(self) -> int: ...
    @property
    def trust_hold_quiet_days(self) -> int: ...
    @property
    def trust_risk_signal_weight(self) -> int: ...
    @property
    def trust_risk_rejected_weight(self) -> int: ...
    @property
    def trust_low_risk_max(self) -> int: ...
    @property
    def trust_risk_window_days(self) -> int: ...


@dataclass(frozen=True)
class TrustPolicy:
    """Parameters:
    limits, growth, risk: the rules of each part (see their docstrings).
    hold_quiet: a hold with no new signal for this long is released automatically (None: never).
    risk_window: open signals older than this no longer count in the risk score.
    """

    limits: PlausibilityLimits = PlausibilityLimits()
    growth: GrowthRules = GrowthRules()
    risk: RiskRules = RiskRules()
    hold_quiet: timedelta | None = timedelta(days=14)
    risk_window: timedelta = timedelta(days=30)

    @classmethod
    def from_settings(cls, settings: TrustSettings) -> TrustPolicy:
        """From an object with the ``trust_*`` attributes of ``zenith.config.Settings``."""
        s = settings
        if s.trust_max_views < 1 or s.trust_spike_factor <= 1 or s.trust_hold_quiet_days < 0:
            raise ValueError("TRUST_MAX_VIEWS must be >= 1, TRUST_SPIKE_FACTOR > 1 and TRUST_HOLD_QUIET_DAYS >= 0")
        return cls(
            limits=PlausibilityLimits(
                max_views=s.trust_max_views, max_likes_per_view=Decimal(s.trust_max_likes_per_view)
            ),
            growth=GrowthRules(
                spike_factor=Decimal(s.trust_spike_factor),
                rate_floor_per_hour=s.trust_rate_floor_per_hour,
                min_views_for_signal=s.trust_min_views_for_signal,
                min_likes_per_view=Decimal(s.trust_min_likes_per_view),
                engagement_min_views=s.trust_engagement_min_views,
                late_grace=timedelta(hours=s.trust_late_grace_hours),
            ),
            risk=RiskRules(
                signal_weight=s.trust_risk_signal_weight,
                rejected_weight=s.trust_risk_rejected_weight,
                low_risk_max=s.trust_low_risk_max,
            ),
            hold_quiet=timedelta(days=s.trust_hold_quiet_days) if s.trust_hold_quiet_days else None,
            risk_window=timedelta(days=s.trust_risk_window_days),
        )
