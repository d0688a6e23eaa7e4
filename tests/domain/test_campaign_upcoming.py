"""Upcoming campaigns, pure rules: which scheduled drafts creators see and may join before
they open, how many days until the start, and which close cancels a campaign."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from decimal import Decimal as D

import pytest

from zenith.domain.campaign_upcoming import UPCOMING_HORIZON, days_until_start, is_upcoming, may_join, never_opened
from zenith.domain.campaigns import CampaignStatus as S

NOW = datetime(2026, 6, 1, 12, 0, tzinfo=timezone.utc)
SOON = NOW + timedelta(days=3)


def _upcoming(status=S.DRAFT, starts_at=SOON, ends_at=None, remaining=D("100.00"), now=NOW) -> bool:
    return is_upcoming(status=status, starts_at=starts_at, ends_at=ends_at, remaining=remaining, now=now)


def test_a_funded_draft_starting_within_the_horizon_is_upcoming():
    assert _upcoming()
    assert _upcoming(starts_at=NOW + timedelta(seconds=1))
    assert _upcoming(starts_at=NOW + UPCOMING_HORIZON)
    assert _upcoming(ends_at=SOON + timedelta(days=7))
    assert UPCOMING_HORIZON == timedelta(days=30)


@pytest.mark.parametrize(
    "why, kwargs",
    [
        ("no start date: waits for an admin", {"starts_at": None}),
        ("no money: the clock would not open it", {"remaining": D("0.00")}),
        ("its start came: the clock's to open", {"starts_at": NOW}),
        ("started long ago", {"starts_at": NOW - timedelta(days=1)}),
        ("beyond the horizon", {"starts_at": NOW + UPCOMING_HORIZON + timedelta(seconds=1)}),
        ("its end passed", {"ends_at": NOW}),
        ("open: listed as open, not upcoming", {"status": S.OPEN}),
        ("paused", {"status": S.PAUSED}),
        ("closed", {"status": S.CLOSED}),
    ],
)
def test_what_is_not_upcoming(why, kwargs):
    assert not _upcoming(**kwargs), why


def test_creators_join_open_and_upcoming_campaigns_only():
    def join(**kwargs) -> bool:
        values = {"status": S.DRAFT, "starts_at": SOON, "ends_at": None, "remaining": D("5.00"), "now": NOW}
        return may_join(**{**values, **kwargs})

    assert join()
    assert join(status=S.OPEN, starts_at=None)
    assert not join(starts_at=None)
    assert not join(remaining=D("0.00"))
    assert not join(status=S.PAUSED)
    assert not join(status=S.CLOSED)


def test_days_until_the_start_count_calendar_days_in_utc():
    assert days_until_start(SOON, now=NOW) == 3
    assert days_until_start(datetime(2026, 6, 1, 23, 59, tzinfo=timezone.utc), now=NOW) == 0  # today
    assert days_until_start(datetime(2026, 6, 2, 0, 1, tzinfo=timezone.utc), now=NOW) == 1  # tomorrow, 12 h away
    moscow = timezone(timedelta(hours=3))
    assert days_until_start(datetime(2026, 6, 2, 2, 0, tzinfo=moscow), now=NOW) == 0  # 23:00 UTC on the 1st
    assert days_until_start(NOW - timedelta(hours=1), now=NOW) == 0
    with pytest.raises(ValueError):
        days_until_start(datetime(2026, 6, 4), now=NOW)


def test_closing_a_draft_cancels_it_and_closing_anything_else_ends_it():
    assert never_opened(S.DRAFT)
    assert not any(never_opened(status) for status in (S.OPEN, S.PAUSED, S.CLOSED))
