"""Running a campaign, pure rules: admin transitions, the clock's openings and closings,
and what an admin may type for each field."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from decimal import Decimal as D

import pytest

from zenith.domain.campaign_admin import (
    AdminAction,
    CampaignFieldError,
    FieldProblem,
    OpenRefusal,
    actions_for,
    check_dates,
    check_funding,
    check_rate,
    due_to_close,
    due_to_open,
    open_refusal,
    parse_date,
    parse_min_account_age,
    parse_min_followers,
    parse_min_views,
    parse_name,
    parse_platforms,
    parse_tags,
    status_after,
)
from zenith.domain.campaigns import CampaignStatus as S
from zenith.domain.links import Platform

NOW = datetime(2026, 6, 1, 12, 0, tzinfo=timezone.utc)


def test_admin_transitions_and_the_buttons_each_status_offers():
    assert status_after(AdminAction.OPEN, S.DRAFT) is S.OPEN
    assert status_after(AdminAction.RESUME, S.PAUSED) is S.OPEN
    assert status_after(AdminAction.PAUSE, S.OPEN) is S.PAUSED
    assert status_after(AdminAction.PAUSE, S.PAUSED) is None  # a double tap changes nothing
    assert status_after(AdminAction.OPEN, S.PAUSED) is None
    assert all(status_after(action, S.CLOSED) is None for action in AdminAction)  # closed is final
    assert actions_for(S.DRAFT) == (AdminAction.OPEN, AdminAction.CLOSE)
    assert actions_for(S.OPEN) == (AdminAction.PAUSE, AdminAction.CLOSE)
    assert actions_for(S.PAUSED) == (AdminAction.RESUME, AdminAction.CLOSE)
    assert actions_for(S.CLOSED) == ()


def test_the_clock_opens_a_funded_scheduled_draft_and_closes_anything_past_its_end():
    start = NOW - timedelta(minutes=1)
    assert due_to_open(status=S.DRAFT, starts_at=start, ends_at=None, remaining=D("1.00"), now=NOW)
    assert not due_to_open(status=S.DRAFT, starts_at=start, ends_at=None, remaining=D("0.00"), now=NOW)
    assert not due_to_open(status=S.DRAFT, starts_at=None, ends_at=None, remaining=D("9.00"), now=NOW)
    assert not due_to_open(status=S.DRAFT, starts_at=NOW + timedelta(seconds=1), ends_at=None, remaining=D(9), now=NOW)
    assert not due_to_open(status=S.PAUSED, starts_at=start, ends_at=None, remaining=D("9.00"), now=NOW)
    assert not due_to_open(status=S.DRAFT, starts_at=start - timedelta(days=1), ends_at=start, remaining=D(9), now=NOW)
    for status in (S.DRAFT, S.OPEN, S.PAUSED):
        assert due_to_close(status=status, ends_at=NOW, now=NOW)
    assert not due_to_close(status=S.CLOSED, ends_at=NOW, now=NOW)
    assert not due_to_close(status=S.OPEN, ends_at=None, now=NOW)
    assert open_refusal(remaining=D("0.00"), ends_at=None, now=NOW) is OpenRefusal.NO_BUDGET
    assert open_refusal(remaining=D("5.00"), ends_at=NOW, now=NOW) is OpenRefusal.ENDED


def test_typed_fields():
    assert parse_name("  Summer   dance  ") == "Summer dance"
    assert parse_platforms("YouTube, tiktok") == {Platform.YOUTUBE, Platform.TIKTOK}
    assert parse_platforms("all") == frozenset(Platform)
    assert parse_tags("#Zenith @Brand #zenith") == ("#zenith", "@brand")
    assert parse_tags("-") == ()
    assert parse_min_views("1 000") == 1000 and parse_min_views("-") is None
    assert parse_min_views("1,500") == parse_min_views("1.500") == 1500 and parse_min_views("0") == 0
    assert parse_date("31.12.2026") == datetime(2026, 12, 31, tzinfo=timezone.utc)
    assert parse_date("2026-12-31 18:30") == datetime(2026, 12, 31, 18, 30, tzinfo=timezone.utc)
    assert parse_date("нет") is None
    assert check_rate(D("72.5")) == D("72.50")
    assert check_funding(D("1000000")) == D("1000000.00")


@pytest.mark.parametrize(
    ("call", "problem"),
    [
        (lambda: parse_name("   "), FieldProblem.NAME_EMPTY),
        (lambda: parse_name("x" * 101), FieldProblem.NAME_TOO_LONG),
        (lambda: parse_platforms("youtube vk"), FieldProblem.PLATFORM_UNKNOWN),
        (lambda: parse_tags("#ok not-a-tag"), FieldProblem.TAG_INVALID),
        (lambda: parse_tags(" ".join(f"#t{n}" for n in range(11))), FieldProblem.TOO_MANY_TAGS),
        (lambda: parse_min_views("many"), FieldProblem.NOT_A_NUMBER),
        (lambda: parse_min_views("1.5"), FieldProblem.NOT_A_NUMBER),
        (lambda: parse_min_views("-100"), FieldProblem.NEGATIVE),
        (lambda: parse_min_views("100000000000"), FieldProblem.TOO_LARGE),
        (lambda: check_rate(D("0")), FieldProblem.NOT_POSITIVE),
        (lambda: check_rate(D("100000.01")), FieldProblem.TOO_LARGE),
        (lambda: parse_date("31/12/2026"), FieldProblem.DATE_INVALID),
        (lambda: parse_date("2026-02-30"), FieldProblem.DATE_INVALID),
        (lambda: parse_date("2026-02-03 25:00"), FieldProblem.DATE_INVALID),
        (lambda: check_dates(starts_at=NOW - timedelta(hours=1), ends_at=None, now=NOW), FieldProblem.DATE_PAST),
        (lambda: check_dates(starts_at=None, ends_at=NOW, now=NOW), FieldProblem.DATE_PAST),
        (
            lambda: check_dates(starts_at=NOW + timedelta(days=2), ends_at=NOW + timedelta(days=1), now=NOW),
            FieldProblem.END_BEFORE_START,
        ),
    ],
)
def test_bad_input_names_its_problem(call, problem):
    with pytest.raises(CampaignFieldError) as caught:
        call()
    assert caught.value.problem is problem


def test_an_old_start_date_may_stay_when_only_other_rules_change():
    check_dates(starts_at=NOW - timedelta(days=3), ends_at=NOW + timedelta(days=3), now=NOW, new_start=False)


@pytest.mark.parametrize(
    ("typed", "days"),
    [("30", 30), (" 365 ", 365), ("0", 0), ("3650", 3650), ("1 000", 1000), ("-", None), ("нет", None)],
)
def test_min_account_age_reads_whole_days(typed, days):
    assert parse_min_account_age(typed) == days


@pytest.mark.parametrize(
    ("typed", "followers"),
    [
        ("1000", 1000),
        ("1 000", 1000),
        ("1,000", 1000),
        ("1.000", 1000),  # grouped thousands as written in Russian
        ("1\u202f000\u202f000", 1_000_000),
        ("1000000000", 1_000_000_000),
        ("0", 0),
        ("—", None),
    ],
)
def test_min_followers_reads_counts_with_or_without_separators(typed, followers):
    assert parse_min_followers(typed) == followers


@pytest.mark.parametrize(
    ("parse", "typed", "problem"),
    [
        (parse_min_account_age, "thirty", FieldProblem.NOT_A_NUMBER),
        (parse_min_account_age, "2.5", FieldProblem.NOT_A_NUMBER),  # a fraction is no count of days
        (parse_min_account_age, "30 days", FieldProblem.NOT_A_NUMBER),
        (parse_min_account_age, "", FieldProblem.NOT_A_NUMBER),
        (parse_min_account_age, "-5", FieldProblem.NEGATIVE),
        (parse_min_account_age, "3651", FieldProblem.TOO_LARGE),
        (parse_min_account_age, "١٢", FieldProblem.NOT_A_NUMBER),  # only ASCII digits
        (parse_min_followers, "1,5", FieldProblem.NOT_A_NUMBER),
        (parse_min_followers, "1,000.000", FieldProblem.NOT_A_NUMBER),  # mixed separators
        (parse_min_followers, "1e6", FieldProblem.NOT_A_NUMBER),
        (parse_min_followers, "+100", FieldProblem.NOT_A_NUMBER),
        (parse_min_followers, "−1 000", FieldProblem.NEGATIVE),
        (parse_min_followers, "1000000001", FieldProblem.TOO_LARGE),
        (parse_min_followers, "9" * 5000, FieldProblem.TOO_LARGE),  # absurd, and beyond int()'s digit limit
    ],
)
def test_account_rule_values_that_are_not_sane_counts_are_refused(parse, typed, problem):
    with pytest.raises(CampaignFieldError) as raised:
        parse(typed)
    assert raised.value.problem is problem
