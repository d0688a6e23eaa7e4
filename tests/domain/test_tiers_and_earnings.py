"""Tiers and earnings: rate card, threshold, cap, fixed amount, deltas."""

from __future__ import annotations

from decimal import Decimal

import pytest

from zenith.domain.earnings import (
    DEFAULT_RATE_PER_1000_RUB,
    EarningsPolicy,
    EarningsPolicyError,
    RateCard,
    RateCardError,
    delta_to_credit,
    earned_total,
    parse_rate_card,
)
from zenith.domain.links import Platform
from zenith.domain.tiers import Tier, TierPolicy, UnknownTier, parse_tier

YT, TT = Platform.YOUTUBE, Platform.TIKTOK
BRONZE, GOLD = Tier.BRONZE, Tier.GOLD


# --- tiers -------------------------------------------------------------------


def test_gold_auto_approves_and_pays_up_to_its_limit():
    gold = TierPolicy.for_tier(GOLD, gold_auto_payout_limit_rub=Decimal("5000"))
    assert gold.auto_approve_videos is True
    assert gold.pays_automatically(Decimal("5000.00")) is True
    assert gold.pays_automatically(Decimal("5000.01")) is False
    assert gold.pays_automatically(Decimal("1")) is True


def test_bronze_needs_an_admin_for_everything():
    bronze = TierPolicy.for_tier("bronze", gold_auto_payout_limit_rub=Decimal("5000"))
    assert bronze.auto_approve_videos is False
    assert bronze.auto_payout_limit_rub is None
    assert bronze.pays_automatically(Decimal("1")) is False


def test_gold_limit_zero_means_no_automatic_payouts():
    gold = TierPolicy.for_tier(GOLD, gold_auto_payout_limit_rub=0)
    assert gold.pays_automatically(Decimal("0.01")) is False
    with pytest.raises(ValueError):
        TierPolicy.for_tier(GOLD, gold_auto_payout_limit_rub=-1)
    with pytest.raises(TypeError):
        TierPolicy.for_tier(GOLD, gold_auto_payout_limit_rub=10.5)


@pytest.mark.parametrize(("text", "tier"), [("gold", GOLD), (" Gold ", GOLD), ("BRONZE", BRONZE)])
def test_parse_tier(text, tier):
    assert parse_tier(text) is tier


@pytest.mark.parametrize("text", ["silver", "", "gol d"])
def test_parse_tier_rejects_unknown_names(text):
    with pytest.raises(UnknownTier, match="bronze, gold"):
        parse_tier(text)


# --- rate card -----------------------------------------------------------------


def test_rate_card_override_string():
    card = parse_rate_card("youtube:gold=80, TikTok:Bronze = 60.5", default_per_1000=65)
    assert card.rate_for(YT, GOLD) == Decimal("80")
    assert card.rate_for("tiktok", "bronze") == Decimal("60.5")
    assert card.rate_for(YT, BRONZE) == Decimal("65")
    assert card.rate_for(TT, GOLD) == Decimal("65")


@pytest.mark.parametrize("text", ["", "   "])
def test_empty_rate_card_means_default_everywhere(text):
    card = parse_rate_card(text)
    assert card.rate_for(YT, GOLD) == DEFAULT_RATE_PER_1000_RUB == Decimal("65")


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("youtube=80", "not 'platform:tier=rate'"),
        ("youtube:gold", "not 'platform:tier=rate'"),
        ("vimeo:gold=80", "unknown platform 'vimeo'"),
        ("youtube:silver=80", "unknown tier 'silver'"),
        ("youtube:gold=eighty", "'eighty'"),
        ("youtube:gold=", "is not a number"),
        ("youtube:gold=-1", "must be >= 0"),
        ("youtube:gold=NaN", "is not a number"),
        ("youtube:gold=80,youtube:GOLD=90", "appears twice"),
        ("youtube:gold=80,,tiktok:gold=70", "empty item"),
        ("youtube:gold=80,", "empty item"),
    ],
)
def test_malformed_rate_card_names_the_problem(text, message):
    with pytest.raises(RateCardError, match=message):
        parse_rate_card(text)


def test_rate_card_is_read_only():
    card = parse_rate_card("youtube:gold=80")
    with pytest.raises(TypeError):
        card.overrides[(TT, GOLD)] = Decimal("1")  # type: ignore[index]


# --- earned_total ----------------------------------------------------------------


def policy(**values) -> EarningsPolicy:
    return EarningsPolicy.from_values(**values)


def test_fifteen_thousand_views_at_65_is_975():
    total = earned_total(views=15_000, platform=YT, tier=BRONZE, policy=policy(rate_per_1000="65"))
    assert total == Decimal("975.00")
    assert str(total) == "975.00"


@pytest.mark.parametrize(
    ("views", "expected"),
    [(0, "0.00"), (1, "0.07"), (7, "0.46"), (999, "64.94"), (1_000, "65.00"), (1_234_567, "80246.86")],
)
def test_per_view_earnings_round_half_up_to_kopecks(views, expected):
    # 7 * 0.065 = 0.455 -> 0.46 (half up); 999 * 0.065 = 64.935 -> 64.94
    assert earned_total(views=views, platform=TT, tier=GOLD, policy=policy()) == Decimal(expected)


def test_rate_card_applies_per_platform_and_tier():
    p = policy(rate_card="youtube:gold=80,tiktok:bronze=60")
    assert earned_total(views=10_000, platform=YT, tier=GOLD, policy=p) == Decimal("800.00")
    assert earned_total(views=10_000, platform=TT, tier=BRONZE, policy=p) == Decimal("600.00")
    assert earned_total(views=10_000, platform=YT, tier=BRONZE, policy=p) == Decimal("650.00")


def test_min_views_threshold_then_all_views_count():
    p = policy(min_views=1_000)
    assert earned_total(views=999, platform=YT, tier=BRONZE, policy=p) == Decimal("0.00")
    assert earned_total(views=1_000, platform=YT, tier=BRONZE, policy=p) == Decimal("65.00")
    assert earned_total(views=1_500, platform=YT, tier=BRONZE, policy=p) == Decimal("97.50")


def test_cap_per_video():
    p = policy(cap="1000")
    assert earned_total(views=15_000, platform=YT, tier=BRONZE, policy=p) == Decimal("975.00")
    assert earned_total(views=15_385, platform=YT, tier=BRONZE, policy=p) == Decimal("1000.00")
    assert earned_total(views=10_000_000, platform=YT, tier=BRONZE, policy=p) == Decimal("1000.00")


def test_cap_zero_or_none_means_no_cap():
    for cap in (None, 0, "0"):
        p = policy(cap=cap)
        assert p.cap is None
        assert earned_total(views=10_000_000, platform=YT, tier=BRONZE, policy=p) == Decimal("650000.00")


def test_fixed_amount_ignores_views_and_threshold():
    p = policy(fixed_amount="300", min_views=1_000, cap="50000")
    assert p.is_fixed
    for views in (0, 10, 999, 1_000_000):
        assert earned_total(views=views, platform=TT, tier=BRONZE, policy=p) == Decimal("300.00")


def test_policy_rejects_contradictions_and_bad_values():
    with pytest.raises(EarningsPolicyError, match="above the per-video cap"):
        policy(fixed_amount="600", cap="500")
    with pytest.raises(EarningsPolicyError):
        policy(min_views=-1)
    with pytest.raises(EarningsPolicyError):
        policy(cap="-5")
    with pytest.raises(EarningsPolicyError):
        policy(fixed_amount="-1")
    with pytest.raises(RateCardError):
        policy(rate_per_1000="-65")
    with pytest.raises(TypeError):
        policy(rate_per_1000=65.0)
    with pytest.raises(TypeError):
        EarningsPolicy(rate_card=RateCard(), cap=100.5)  # type: ignore[arg-type]


@pytest.mark.parametrize("views", [-1, 1.5, "100", True, None])
def test_views_must_be_a_non_negative_int(views):
    with pytest.raises(ValueError):
        earned_total(views=views, platform=YT, tier=GOLD, policy=policy())


# --- delta_to_credit --------------------------------------------------------------


def test_delta_credits_only_growth():
    assert delta_to_credit(total_now=Decimal("975.00"), already_credited=Decimal("0")) == Decimal("975.00")
    assert delta_to_credit(total_now=Decimal("975.00"), already_credited=Decimal("650.00")) == Decimal("325.00")
    assert delta_to_credit(total_now=Decimal("975.00"), already_credited=Decimal("975.00")) == Decimal("0.00")


def test_views_going_down_never_take_money_back():
    assert delta_to_credit(total_now=Decimal("600.00"), already_credited=Decimal("975.00")) == Decimal("0.00")


def test_sum_of_deltas_equals_the_final_total():
    p = policy(min_views=1_000, cap="2000")
    credited = Decimal("0.00")
    for views in (0, 500, 999, 1_000, 1_007, 5_555, 5_000, 12_345, 40_000, 31_000, 50_000):
        total = earned_total(views=views, platform=YT, tier=BRONZE, policy=p)
        delta = delta_to_credit(total_now=total, already_credited=credited)
        assert delta >= 0
        credited += delta
    assert credited == Decimal("2000.00")
