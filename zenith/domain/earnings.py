"""What a video earns: a rate card per platform and tier, a view threshold, a cap.

Per-view mode: nothing below ``min_views``; at or above it every view counts at the
rate per 1,000 views, rounded to kopecks, capped per video. Fixed mode
(``fixed_amount > 0``): an approved video earns exactly the fixed amount, whatever its
views. Only approved videos are credited; deciding that is the caller's job.

The ledger credits the difference between what a video has earned so far and what was
already credited (`delta_to_credit`); a total that goes down (views removed, rates
lowered) never takes money back.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from types import MappingProxyType
from typing import Mapping

from zenith.domain.links import Platform
from zenith.domain.money import to_decimal, to_money
from zenith.domain.tiers import Tier

__all__ = [
    "DEFAULT_RATE_PER_1000_RUB",
    "EarningsPolicy",
    "EarningsPolicyError",
    "RateCard",
    "RateCardError",
    "delta_to_credit",
    "earned_total",
    "parse_rate_card",
]

DEFAULT_RATE_PER_1000_RUB = Decimal("65")
_THOUSAND = Decimal(1000)


class RateCardError(ValueError):
    """A rate-card override string is malformed; the message quotes the bad part."""


class EarningsPolicyError(ValueError):
    """The earnings settings contradict each other or are out of range."""


@dataclass(frozen=True)
class RateCard:
    """RUB per 1,000 views: one default plus overrides per (platform, tier)."""

    default_per_1000: Decimal = DEFAULT_RATE_PER_1000_RUB
    overrides: Mapping[tuple[Platform, Tier], Decimal] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if to_decimal(self.default_per_1000) < 0:
            raise RateCardError(f"default rate must be >= 0, got {self.default_per_1000}")
        object.__setattr__(self, "overrides", MappingProxyType(dict(self.overrides)))

    def rate_for(self, platform: Platform | str, tier: Tier | str) -> Decimal:
        """RUB per 1,000 views for a video on ``platform`` by a creator of ``tier``."""
        return self.overrides.get((Platform(platform), Tier(tier)), self.default_per_1000)


def parse_rate_card(text: str, *, default_per_1000: Decimal | int | str = DEFAULT_RATE_PER_1000_RUB) -> RateCard:
    """A `RateCard` from ``"youtube:gold=80,tiktok:bronze=60"`` (empty text: no overrides).

    Each comma-separated item is ``platform:tier=rate``; names are case-insensitive,
    spaces around parts are ignored, a rate is a non-negative decimal. Raises
    `RateCardError` naming the bad item: unknown platform or tier, missing parts, bad or
    negative rate, the same pair twice.
    """
    overrides: dict[tuple[Platform, Tier], Decimal] = {}
    for raw_item in text.split(","):
        item = raw_item.strip()
        if not item:
            if raw_item != text:  # "a,,b" or a trailing comma
                raise RateCardError(f"empty item in rate card {text!r}")
            continue
        key, equals, raw_rate = item.partition("=")
        platform_name, colon, tier_name = key.partition(":")
        if not equals or not colon:
            raise RateCardError(f"rate card item {item!r} is not 'platform:tier=rate'")
        try:
            platform = Platform(platform_name.strip().lower())
        except ValueError:
            raise RateCardError(f"unknown platform {platform_name.strip()!r} in {item!r}") from None
        try:
            tier = Tier(tier_name.strip().lower())
        except ValueError:
            raise RateCardError(f"unknown tier {tier_name.strip()!r} in {item!r}") from None
        try:
            rate = to_decimal(raw_rate)
        except ValueError:
            raise RateCardError(f"rate {raw_rate.strip()!r} in {item!r} is not a number") from None
        if rate < 0:
            raise RateCardError(f"rate in {item!r} must be >= 0")
        if (platform, tier) in overrides:
            raise RateCardError(f"{platform.value}:{tier.value} appears twice in the rate card")
        overrides[(platform, tier)] = rate
    try:
        default = to_decimal(default_per_1000)
    except ValueError as exc:
        raise RateCardError(f"default rate: {exc}") from None
    return RateCard(default_per_1000=default, overrides=overrides)


@dataclass(frozen=True)
class EarningsPolicy:
    """How videos earn.

    Parameters:
      rate_card: RUB per 1,000 views per platform and tier.
      min_views: views a video needs before it earns anything (0: from the first view).
      cap: most one video earns, in RUB; None: no cap.
      fixed_amount: if > 0, an approved video earns exactly this, views ignored.
    """

    rate_card: RateCard
    min_views: int = 0
    cap: Decimal | None = None
    fixed_amount: Decimal = Decimal("0.00")

    def __post_init__(self) -> None:
        # normalise to kopecks here so a float or junk never gets past construction
        object.__setattr__(self, "fixed_amount", to_money(self.fixed_amount))
        if self.cap is not None:
            object.__setattr__(self, "cap", to_money(self.cap))
        if isinstance(self.min_views, bool) or not isinstance(self.min_views, int) or self.min_views < 0:
            raise EarningsPolicyError(f"min_views must be an int >= 0, got {self.min_views!r}")
        if self.cap is not None and self.cap <= 0:
            raise EarningsPolicyError(f"cap must be > 0 or None, got {self.cap}")
        if self.fixed_amount < 0:
            raise EarningsPolicyError(f"fixed_amount must be >= 0, got {self.fixed_amount}")
        if self.cap is not None and self.fixed_amount > self.cap:
            raise EarningsPolicyError(f"fixed_amount {self.fixed_amount} is above the per-video cap {self.cap}")

    @classmethod
    def from_values(
        cls,
        *,
        rate_per_1000: Decimal | int | str = DEFAULT_RATE_PER_1000_RUB,
        rate_card: str = "",
        min_views: int = 0,
        cap: Decimal | int | str | None = None,
        fixed_amount: Decimal | int | str = 0,
    ) -> EarningsPolicy:
        """Build a policy from plain settings values (RATE_PER_1000_RUB, RATE_CARD, ...).

        ``cap`` of None or 0 means no cap. Raises `RateCardError` / `EarningsPolicyError`.
        """
        money_cap = None if cap is None else to_money(cap)
        return cls(
            rate_card=parse_rate_card(rate_card, default_per_1000=rate_per_1000),
            min_views=min_views,
            cap=money_cap if money_cap else None,
            fixed_amount=to_money(fixed_amount),
        )

    @property
    def is_fixed(self) -> bool:
        return self.fixed_amount > 0


def earned_total(*, views: int, platform: Platform | str, tier: Tier | str, policy: EarningsPolicy) -> Decimal:
    """Everything an approved video with ``views`` views has earned so far, in RUB (kopecks).

    15,000 views at 65 RUB per 1,000 -> Decimal("975.00"). Raises ValueError for
    negative or non-int ``views``.
    """
    if isinstance(views, bool) or not isinstance(views, int) or views < 0:
        raise ValueError(f"views must be an int >= 0, got {views!r}")
    if policy.is_fixed:
        return policy.fixed_amount
    if views < policy.min_views:
        return to_money(0)
    total = to_money(Decimal(views) * policy.rate_card.rate_for(platform, tier) / _THOUSAND)
    if policy.cap is not None and total > policy.cap:
        return policy.cap
    return total


def delta_to_credit(*, total_now: Decimal, already_credited: Decimal) -> Decimal:
    """What to credit now: ``total_now - already_credited``, never below zero."""
    delta = to_money(total_now) - to_money(already_credited)
    return delta if delta > 0 else to_money(0)
