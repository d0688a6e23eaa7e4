"""The trust layer's rules, without I/O: plausibility, growth over real-shaped curves, risk."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest

from tests.domain.trust_curves import START, Curve, fraudulent_curves, organic_curves
from zenith.domain.trust import (
    GrowthPoint,
    GrowthRules,
    PlausibilityLimits,
    RiskRules,
    SignalKind,
    check_answer,
    judge_growth,
    risk_score,
)

LIMITS = PlausibilityLimits()
RULES = GrowthRules()


@pytest.mark.parametrize("views", [10**18, 10**20, 1e20, -5, 2.5, "1000", True, float("nan"), float("inf"), None])
def test_absurd_or_malformed_view_counts_are_refused(views):
    signal = check_answer(views=views, likes=0, comments=0, limits=LIMITS)
    assert signal is not None and signal.kind is SignalKind.IMPLAUSIBLE
    assert signal.evidence["field"] == "views"
    assert signal.evidence["reason"] in {"not_a_count", "negative", "above_ceiling"}


def test_the_ceiling_is_inclusive_and_the_reason_names_it():
    assert check_answer(views=LIMITS.max_views, limits=LIMITS) is None
    signal = check_answer(views=LIMITS.max_views + 1, limits=LIMITS)
    assert signal.evidence == {
        "reason": "above_ceiling",
        "field": "views",
        "value": str(LIMITS.max_views + 1),
        "ceiling": LIMITS.max_views,
    }


def test_whole_floats_pass_and_hidden_likes_are_not_judged():
    assert check_answer(views=12_000.0, likes=None, comments=None, limits=LIMITS) is None
    assert check_answer(views=Decimal("12000"), likes=300, comments=10, limits=LIMITS) is None


@pytest.mark.parametrize("likes, comments", [(-1, 0), (0, -3), (1.5, 0), (50_000, 0), (0, 50_000)])
def test_likes_and_comments_must_be_counts_consistent_with_views(likes, comments):
    signal = check_answer(views=10_000, likes=likes, comments=comments, limits=LIMITS)
    assert signal is not None and signal.kind is SignalKind.IMPLAUSIBLE


def test_a_fresh_video_may_show_a_few_more_likes_than_views():
    assert check_answer(views=40, likes=90, comments=3, limits=LIMITS) is None


def _held_points(curve: Curve, rules: GrowthRules = RULES) -> list[tuple[GrowthPoint, list]]:
    """Run the curve through the rules as the credit path does; return the points held and why."""
    history: list[GrowthPoint] = []
    held = []
    for point in curve.points:
        assert check_answer(views=point.views, likes=point.likes, limits=LIMITS) is None, curve.name
        verdict = judge_growth(
            history=history, new=point, rules=rules, published_at=START, window_closes_at=START + timedelta(days=30)
        )
        if verdict.hold:
            held.append((point, [(s.kind.value, s.evidence) for s in verdict.signals]))
        spiked = any(signal.kind is SignalKind.SPIKE for signal in verdict.signals)
        history.append(GrowthPoint(point.taken_at, point.views, point.likes, held=verdict.hold, spike=spiked))
    return held


@pytest.mark.parametrize("curve", organic_curves(), ids=lambda c: c.name)
def test_organic_curves_are_never_held(curve):
    assert curve.points[-1].views > 10_000  # the curves are big enough for the rules to matter
    assert _held_points(curve) == []


@pytest.mark.parametrize("curve", fraudulent_curves(), ids=lambda c: c.name)
def test_bought_views_are_held(curve):
    held = _held_points(curve)
    assert held, f"{curve.name} slipped through"
    kinds = {kind for _, signals in held for kind, _ in signals}
    assert kinds <= {"spike", "low_engagement"}


def test_a_bought_jump_holds_only_itself_and_a_drip_is_held_within_hours():
    jump = next(c for c in fraudulent_curves() if c.name == "bought spike day 4")
    assert len(_held_points(jump)) == 1  # the organic growth after it is credited
    drip = next(c for c in fraudulent_curves() if c.name == "bot drip")
    held = _held_points(drip)
    first = held[0][0]
    assert first.taken_at - START <= timedelta(hours=8) and first.views < 25_000
    assert len(held) == len(drip.points) - drip.points.index(first)  # every check from then on


def test_a_spike_carries_the_numbers_that_triggered_it():
    history = [GrowthPoint(START, 1000, 30), GrowthPoint(START + timedelta(hours=1), 1500, 45)]
    verdict = judge_growth(history=history, new=GrowthPoint(START + timedelta(hours=2), 81_500, 50), rules=RULES)
    spike = next(s for s in verdict.signals if s.kind is SignalKind.SPIKE)
    assert spike.evidence["gained"] == 80_000 and spike.evidence["views_per_hour"] == 80_000
    assert spike.evidence["baseline_per_hour"] == 1000 and spike.evidence["factor"] == "10"
    assert {s.kind for s in verdict.signals} == {SignalKind.SPIKE, SignalKind.LOW_ENGAGEMENT}


def test_the_creators_other_videos_raise_the_baseline():
    history = [GrowthPoint(START, 1000, 30), GrowthPoint(START + timedelta(hours=1), 1500, 45)]
    new = GrowthPoint(START + timedelta(hours=2), 81_500, 2_500)
    assert judge_growth(history=history, new=new, rules=RULES).hold
    assert not judge_growth(history=history, new=new, rules=RULES, creator_peak_per_hour=50_000).hold


def test_held_intervals_do_not_raise_the_baseline_for_the_next_spike():
    history = [
        GrowthPoint(START, 1000, 30),
        GrowthPoint(START + timedelta(hours=1), 101_000, 40, held=True),
    ]
    verdict = judge_growth(history=history, new=GrowthPoint(START + timedelta(hours=2), 201_000, 3000), rules=RULES)
    assert verdict.hold and verdict.signals[0].evidence["baseline_per_hour"] == 1000


def test_growth_long_after_the_window_closed_is_held_and_a_first_check_never_is():
    closes = START + timedelta(days=30)
    history = [GrowthPoint(closes - timedelta(days=1), 100_000, 3000)]
    late = judge_growth(
        history=history,
        new=GrowthPoint(closes + timedelta(days=2), 120_000, 3700),
        rules=RULES,
        window_closes_at=closes,
    )
    assert [s.kind for s in late.signals] == [SignalKind.LATE_GROWTH]
    assert not judge_growth(history=[], new=GrowthPoint(START, 5_000_000, 0), rules=RULES).hold


def test_small_growth_and_falling_views_make_no_signal():
    history = [GrowthPoint(START, 10, 0)]
    assert (
        judge_growth(history=history, new=GrowthPoint(START + timedelta(minutes=1), 4_000, 100), rules=RULES).signals
        == ()
    )
    assert judge_growth(history=history, new=GrowthPoint(START + timedelta(hours=1), 5, 0), rules=RULES).signals == ()


def test_risk_score_counts_open_signals_and_rejections_but_not_bad_data():
    rules = RiskRules()
    assert risk_score(open_signals={}, rejected_items=0, rules=rules).low
    assert risk_score(open_signals={"implausible": 5}, rejected_items=0, rules=rules).low
    assert risk_score(open_signals={"implausible": 5}, rejected_items=2, rules=rules).low
    spike = risk_score(open_signals={"spike": 1}, rejected_items=0, rules=rules)
    assert spike.score == 3 and not spike.low
    assert not risk_score(open_signals={}, rejected_items=3, rules=rules).low
