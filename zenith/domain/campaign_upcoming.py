"""Upcoming campaigns: scheduled drafts creators may see and join before they open. Pure, no I/O.

A draft with a start date and money in its budget is opened by the clock when the date
comes (`campaign_admin.due_to_open`). Shown to creators ahead of that, it gathers its
members early, so the "campaign opened" notice reaches someone on its first opening.
Videos are still taken only once it is open.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone
from decimal import Decimal

from zenith.domain.campaign_admin import open_refusal
from zenith.domain.campaigns import CampaignStatus

__all__ = ["UPCOMING_HORIZON", "days_until_start", "is_upcoming", "may_join", "never_opened"]

# How far ahead a campaign is announced. Further out its terms, dates and budget are
# still likely to change, and a creator cannot plan a video for it yet; a month also
# keeps the list short enough that open campaigns stay on its first page.
UPCOMING_HORIZON = timedelta(days=30)


def is_upcoming(
    *,
    status: CampaignStatus | str,
    starts_at: datetime | None,
    ends_at: datetime | None,
    remaining: Decimal,
    now: datetime,
    horizon: timedelta = UPCOMING_HORIZON,
) -> bool:
    """A scheduled draft that holds money and starts after ``now``, within ``horizon``.

    A draft without a start date waits for an admin and may never open; one without money
    would not be opened by the clock; one whose start came is the clock's to open.
    """
    return (
        CampaignStatus(status) is CampaignStatus.DRAFT
        and starts_at is not None
        and now < starts_at <= now + horizon
        and open_refusal(remaining=remaining, ends_at=ends_at, now=now) is None
    )


def may_join(
    *,
    status: CampaignStatus | str,
    starts_at: datetime | None,
    ends_at: datetime | None,
    remaining: Decimal,
    now: datetime,
) -> bool:
    """Creators may join an open campaign and an upcoming one, nothing else."""
    if CampaignStatus(status) is CampaignStatus.OPEN:
        return True
    return is_upcoming(status=status, starts_at=starts_at, ends_at=ends_at, remaining=remaining, now=now)


def days_until_start(starts_at: datetime, *, now: datetime) -> int:
    """Calendar days (UTC) from ``now`` to the start: 0 today, 1 tomorrow; never negative.

    Calendar days, not 24-hour periods, so "tomorrow" means the next date, the one the
    card shows next to it.
    """
    if starts_at.tzinfo is None or now.tzinfo is None:
        raise ValueError("datetimes must be timezone-aware")
    return max(0, (_utc_date(starts_at) - _utc_date(now)).days)


def never_opened(status: CampaignStatus | str) -> bool:
    """Closing a campaign in this status cancels it: it never took a video (its members
    joined it while it was upcoming)."""
    return CampaignStatus(status) is CampaignStatus.DRAFT


def _utc_date(moment: datetime) -> date:
    return moment.astimezone(timezone.utc).date()
