"""Creator tiers: Bronze (everything moderated) and Gold (trusted).

Gold creators' videos are approved without moderation and their withdrawals up to a
configurable limit are paid without an admin. Bronze creators get neither.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from enum import StrEnum

from zenith.domain.money import to_money

__all__ = ["Tier", "TierPolicy", "UnknownTier", "parse_tier"]


class Tier(StrEnum):
    BRONZE = "bronze"
    GOLD = "gold"


class UnknownTier(ValueError):
    """The text names no tier."""


def parse_tier(text: str) -> Tier:
    """`Tier` from user or admin text, case-insensitive (" Gold " -> Tier.GOLD); raises `UnknownTier`."""
    try:
        return Tier(text.strip().lower())
    except (ValueError, AttributeError):
        names = ", ".join(tier.value for tier in Tier)
        raise UnknownTier(f"unknown tier {text!r}; expected one of: {names}") from None


@dataclass(frozen=True)
class TierPolicy:
    """What a tier may do without an admin.

    Parameters:
      tier: the tier described.
      auto_approve_videos: submitted videos skip moderation.
      auto_payout_limit_rub: withdrawals up to and including this amount need no admin;
        None means every withdrawal needs an admin.
    """

    tier: Tier
    auto_approve_videos: bool
    auto_payout_limit_rub: Decimal | None

    @classmethod
    def for_tier(cls, tier: Tier | str, *, gold_auto_payout_limit_rub: Decimal | int | str) -> TierPolicy:
        """The policy of ``tier``; ``gold_auto_payout_limit_rub`` (>= 0) is the Gold limit."""
        tier = Tier(tier)
        limit = to_money(gold_auto_payout_limit_rub)
        if limit < 0:
            raise ValueError(f"gold_auto_payout_limit_rub must be >= 0, got {limit}")
        if tier is Tier.GOLD:
            return cls(tier=tier, auto_approve_videos=True, auto_payout_limit_rub=limit)
        return cls(tier=tier, auto_approve_videos=False, auto_payout_limit_rub=None)

    def pays_automatically(self, amount_rub: Decimal | int | str) -> bool:
        """True when a withdrawal of ``amount_rub`` may be paid without an admin."""
        if self.auto_payout_limit_rub is None:
            return False
        return to_money(amount_rub) <= self.auto_payout_limit_rub
