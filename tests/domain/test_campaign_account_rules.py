"""Account rules of a campaign (minimum account age, minimum followers) judged where the
platform tells the figure, and the days a creator sees left."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from zenith.domain.campaigns import (
    CampaignError,
    CampaignRefusal,
    CampaignTerms,
    account_refusal,
    days_left,
    needs_account_figures,
)
from zenith.domain.links import Platform

NOW = datetime(2026, 12, 6, 12, 0, tzinfo=timezone.utc)
STRICT = CampaignTerms(min_account_age_days=30, min_followers=1_000)


def _judge(terms, platform, *, age_days=None, followers=None):
    created = NOW - timedelta(days=age_days, hours=1) if age_days is not None else None
    return account_refusal(terms, platform=platform, created_at=created, followers=followers, now=NOW)


def test_youtube_tells_age_and_subscribers():
    assert needs_account_figures(STRICT, Platform.YOUTUBE)
    assert _judge(STRICT, Platform.YOUTUBE, age_days=30, followers=1_000) is None
    assert _judge(STRICT, Platform.YOUTUBE, age_days=29, followers=5_000) == (
        CampaignRefusal.ACCOUNT_AGE,
        {"required": 30, "actual": 29},
    )
    assert _judge(STRICT, Platform.YOUTUBE, age_days=400, followers=999) == (
        CampaignRefusal.FOLLOWERS,
        {"required": 1_000, "actual": 999},
    )
    # the channel hides its subscriber count: refused, the creator is told what to show
    assert _judge(STRICT, Platform.YOUTUBE, age_days=400, followers=None) == (
        CampaignRefusal.FIGURE_HIDDEN,
        {"what": "followers"},
    )


@pytest.mark.parametrize("platform", [Platform.TIKTOK, Platform.INSTAGRAM])
def test_tiktok_and_instagram_tell_followers_only(platform):
    # no creation date on their profiles: the age rule is not judged there
    age_only = CampaignTerms(min_account_age_days=365)
    assert not needs_account_figures(age_only, platform)
    assert _judge(age_only, platform, followers=1) is None
    assert needs_account_figures(STRICT, platform)
    assert _judge(STRICT, platform, followers=1_000) is None
    assert _judge(STRICT, platform, followers=10)[0] is CampaignRefusal.FOLLOWERS


def test_no_account_rules_need_no_figures():
    for terms in (CampaignTerms(), CampaignTerms(min_account_age_days=0, min_followers=0)):
        assert not any(needs_account_figures(terms, platform) for platform in Platform)
        assert _judge(terms, Platform.YOUTUBE) is None


@pytest.mark.parametrize(
    "fields", [{"min_followers": -1}, {"min_account_age_days": -5}, {"min_followers": True}, {"min_followers": 1.5}]
)
def test_bad_account_rules_are_refused(fields):
    with pytest.raises(CampaignError):
        CampaignTerms(**fields)


@pytest.mark.parametrize(
    ("ends_in", "expected"),
    [
        (None, None),
        (timedelta(days=10), 10),
        (timedelta(days=9, hours=1), 10),
        (timedelta(hours=2), 1),
        (timedelta(hours=-2), 0),
    ],
)
def test_days_left_counts_a_started_day(ends_in, expected):
    assert days_left(None if ends_in is None else NOW + ends_in, now=NOW) == expected
