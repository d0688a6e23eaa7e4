"""Campaign rules without a database: terms, per-campaign earnings, submission rules, budget arithmetic."""

from __future__ import annotations

from decimal import Decimal as D

import pytest

from zenith.domain.campaigns import (
    CampaignError,
    CampaignRefusal,
    CampaignStatus,
    CampaignTerms,
    budget_progress,
    clamp_to_budget,
    cost_per_1000,
    earnings_policy,
    is_nearly_spent,
    submission_refusal,
    tag_present,
)
from zenith.domain.earnings import EarningsPolicy, earned_total
from zenith.domain.links import Platform

PROGRAM = EarningsPolicy.from_values(rate_per_1000=65, rate_card="youtube:gold=80", min_views=1000, cap=50000)


def test_the_default_terms_are_the_program_itself():
    policy = earnings_policy(CampaignTerms(), PROGRAM)
    assert policy is PROGRAM
    assert earned_total(views=15_000, platform="tiktok", tier="bronze", policy=policy) == D("975.00")


def test_a_campaign_pays_its_own_rate_minimum_and_cap_for_every_tier_and_platform():
    policy = earnings_policy(CampaignTerms(rate_per_1000=D("120"), min_views=5000, cap_per_video=D("1000")), PROGRAM)
    assert earned_total(views=4_999, platform="youtube", tier="gold", policy=policy) == D("0.00")
    assert earned_total(views=5_000, platform="youtube", tier="gold", policy=policy) == D("600.00")
    assert earned_total(views=5_000, platform="instagram", tier="bronze", policy=policy) == D("600.00")
    assert earned_total(views=50_000, platform="tiktok", tier="bronze", policy=policy) == D("1000.00")
    # only the rate set: the program's minimum and cap stay
    partial = earnings_policy(CampaignTerms(rate_per_1000=D("10")), PROGRAM)
    assert (partial.min_views, partial.cap) == (1000, D("50000.00"))


@pytest.mark.parametrize(
    "terms",
    [
        {"rate_per_1000": D("0")},
        {"rate_per_1000": D("-1")},
        {"min_views": -1},
        {"cap_per_video": D("0")},
        {"platforms": frozenset()},
        {"platforms": frozenset({"vimeo"})},
        {"required_tags": ("zenith",)},
        {"required_tags": ("#a b",)},
    ],
)
def test_bad_terms_are_refused(terms):
    with pytest.raises((CampaignError, ValueError)):
        CampaignTerms(**terms)


@pytest.mark.parametrize(
    "text, tag, present",
    [
        ("my dance #ZenithDance", "#zenithdance", True),
        ("#zenithdance!", "#ZenithDance", True),
        ("collab with @Zenith.Media today", "@zenith.media", True),
        ("#zenithdancers", "#zenithdance", False),
        ("email me at x@zenith.media", "@zenith.media", False),
        ("##zenithdance", "#zenithdance", False),
        ("ＺＥＮＩＴＨ #ｚｅｎｉｔｈ", "#zenith", True),  # full-width, as some keyboards type it
        (None, "#zenith", False),
        ("", "#zenith", False),
    ],
)
def test_tags_are_whole_words_in_any_case(text, tag, present):
    assert tag_present(text, tag) is present


def test_submission_rules_in_order():
    terms = CampaignTerms(
        rate_per_1000=D("100"),
        platforms=frozenset({Platform.TIKTOK, Platform.INSTAGRAM}),
        required_tags=("#zenith", "@brand"),
    )
    ok = {"status": "open", "platform": "tiktok", "text": "new one #zenith with @brand"}
    assert submission_refusal(terms, **ok) is None
    assert submission_refusal(terms, **{**ok, "status": CampaignStatus.PAUSED}) == (CampaignRefusal.NOT_OPEN, "paused")
    assert submission_refusal(terms, **{**ok, "platform": "youtube"}) == (CampaignRefusal.PLATFORM, "youtube")
    assert submission_refusal(terms, **{**ok, "text": "new one #zenith"}) == (CampaignRefusal.MISSING_TAG, "@brand")
    assert submission_refusal(terms, **{**ok, "text": None}) == (CampaignRefusal.MISSING_TAG, "#zenith @brand")


@pytest.mark.parametrize(
    "amount, remaining, expected",
    [
        (D("10.00"), D("100.00"), (D("10.00"), False)),
        (D("100.00"), D("100.00"), (D("100.00"), True)),
        (D("975.00"), D("25.00"), (D("25.00"), True)),
        (D("5.00"), D("0.00"), (D("0.00"), True)),
        (D("5.00"), D("-3.00"), (D("0.00"), True)),
    ],
)
def test_clamp_to_budget(amount, remaining, expected):
    assert clamp_to_budget(amount, remaining) == expected


def test_figures_for_people():
    assert is_nearly_spent(remaining=D("100.00"), funded=D("1000.00")) and not is_nearly_spent(
        remaining=D("100.01"), funded=D("1000.00")
    )
    assert not is_nearly_spent(remaining=D("0"), funded=D("0"))
    assert budget_progress(spent=D("350"), funded=D("1000")) == "▓▓▓░░░░░░░"
    assert budget_progress(spent=D("1000"), funded=D("1000")) == "▓" * 10
    assert budget_progress(spent=D("0"), funded=D("0"), width=4) == "░░░░"
    assert cost_per_1000(spent=D("975.00"), views=15_000) == D("65.00")
    assert cost_per_1000(spent=D("10"), views=0) is None
