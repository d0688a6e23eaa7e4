"""Campaigns as a creator sees them: open ones and, after them, upcoming ones page by page,
which of them they joined, whether one may be joined now, and the campaign names shown
next to their videos and credits.

Writes (joining) stay in ``storage.campaigns``; everything here only reads.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import psycopg

from zenith.domain.campaign_upcoming import UPCOMING_HORIZON, is_upcoming, may_join
from zenith.domain.campaigns import CampaignStatus
from zenith.storage import ledger
from zenith.storage.campaigns import Campaign
from zenith.storage.db import fetch_all, fetch_one, fetch_row

__all__ = ["CampaignListing", "joinable", "joined_ids", "listing", "names_for_videos", "open_page"]

# the SQL of `domain.campaign_upcoming.is_upcoming`, to page and count by index; the rows
# found are judged by the domain rule again
_UPCOMING = """
    FROM campaigns c JOIN ledger_accounts a ON a.key = 'campaign:' || c.id || ':budget'
   WHERE c.status = %(draft)s AND c.budgeted AND a.balance > 0
     AND c.starts_at > %(now)s AND c.starts_at <= %(until)s
     AND (c.ends_at IS NULL OR c.ends_at > %(now)s)
"""


@dataclass(frozen=True)
class CampaignListing:
    """One page of the creator's list: open campaigns first, then upcoming ones."""

    open: list[Campaign]  # newest first
    upcoming: list[Campaign]  # soonest start first
    open_total: int
    upcoming_total: int

    @property
    def total(self) -> int:
        return self.open_total + self.upcoming_total


async def open_page(conn: psycopg.AsyncConnection, *, limit: int, offset: int) -> tuple[list[Campaign], int]:
    """One page of the open budgeted campaigns, newest first, and how many there are in all."""
    rows = await fetch_all(
        conn,
        "SELECT * FROM campaigns WHERE status = %s AND budgeted ORDER BY id DESC LIMIT %s OFFSET %s",
        (CampaignStatus.OPEN.value, limit, offset),
    )
    total = await fetch_row(
        conn, "SELECT count(*) AS n FROM campaigns WHERE status = %s AND budgeted", (CampaignStatus.OPEN.value,)
    )
    return [Campaign(**row) for row in rows], int(total["n"])


async def listing(conn: psycopg.AsyncConnection, *, now: datetime, limit: int, offset: int) -> CampaignListing:
    """``limit`` campaigns from ``offset`` of the list open ones head and upcoming ones follow."""
    opened, open_total = await open_page(conn, limit=limit, offset=offset)
    params = {"draft": CampaignStatus.DRAFT.value, "now": now, "until": now + UPCOMING_HORIZON}
    counted = await fetch_row(conn, "SELECT count(*) AS n " + _UPCOMING, params)
    upcoming: list[Campaign] = []
    room = limit - len(opened)
    if room > 0 and counted["n"]:
        rows = await fetch_all(
            conn,
            "SELECT c.*, a.balance AS remaining "
            + _UPCOMING
            + " ORDER BY c.starts_at, c.id LIMIT %(limit)s OFFSET %(offset)s",
            {**params, "limit": room, "offset": max(0, offset - open_total)},
        )
        for row in rows:
            remaining = row.pop("remaining")
            campaign = Campaign(**row)
            if is_upcoming(
                status=campaign.status,
                starts_at=campaign.starts_at,
                ends_at=campaign.ends_at,
                remaining=remaining,
                now=now,
            ):
                upcoming.append(campaign)
    return CampaignListing(open=opened, upcoming=upcoming, open_total=open_total, upcoming_total=int(counted["n"]))


async def joinable(conn: psycopg.AsyncConnection, campaign_id: int, *, now: datetime) -> Campaign | None:
    """The campaign if a creator may join it now (open, or upcoming), else None.

    Its row is locked ``FOR SHARE`` for the rest of the transaction: a join and the
    campaign's opening or closing (which lock it ``FOR UPDATE``) take turns, so a member
    who joins while it is upcoming is among those its opening or cancellation tells.
    """
    row = await fetch_one(conn, "SELECT * FROM campaigns WHERE id = %s AND budgeted FOR SHARE", (campaign_id,))
    if row is None:
        return None
    campaign = Campaign(**row)
    remaining = await ledger.account_balance(conn, ledger.budget_account(campaign.id))
    allowed = may_join(
        status=campaign.status, starts_at=campaign.starts_at, ends_at=campaign.ends_at, remaining=remaining, now=now
    )
    return campaign if allowed else None


async def joined_ids(conn: psycopg.AsyncConnection, *, user_id: int, campaign_ids: list[int]) -> set[int]:
    """Which of ``campaign_ids`` the creator joined."""
    rows = await fetch_all(
        conn,
        "SELECT campaign_id FROM campaign_members WHERE user_id = %s AND campaign_id = ANY(%s)",
        (user_id, campaign_ids),
    )
    return {row["campaign_id"] for row in rows}


async def names_for_videos(conn: psycopg.AsyncConnection, video_ids: list[int]) -> dict[int, str]:
    """video id -> the name of the campaign the video belongs to (the default program's too)."""
    if not video_ids:
        return {}
    rows = await fetch_all(
        conn,
        "SELECT v.id, c.name FROM videos v JOIN campaigns c ON c.id = v.campaign_id WHERE v.id = ANY(%s)",
        (video_ids,),
    )
    return {row["id"]: row["name"] for row in rows}
