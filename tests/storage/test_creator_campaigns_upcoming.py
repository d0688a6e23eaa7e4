"""Upcoming campaigns in the database, on a database of the test's own: the creator's list
pages open campaigns first and the funded scheduled drafts after them, leaves out every
other draft and paused or closed ones; an upcoming campaign can be joined (once) and
stops being joinable when it is closed; closing it before it ever opened tells its
members it was cancelled, once."""

from __future__ import annotations

import itertools
import os
from datetime import datetime, timedelta, timezone
from decimal import Decimal as D

import pytest

from zenith.domain.campaign_admin import AdminAction, CloseReason
from zenith.domain.campaign_upcoming import UPCOMING_HORIZON
from zenith.domain.campaigns import CampaignStatus, CampaignTerms
from zenith.storage import campaign_life, campaigns, creator_campaigns, users
from zenith.storage.db import fetch_all, open_pool, unit_of_work

_ids = itertools.count(os.getpid() * 1_000_000 + 800_001)
NOW = datetime.now(timezone.utc)


@pytest.fixture
async def db(clean_database_url):
    pool = await open_pool(clean_database_url, min_size=1, max_size=4, name="upcoming-test")
    try:
        yield pool
    finally:
        await pool.close()


async def _campaign(pool, name: str, *, status=CampaignStatus.DRAFT, budget: str | None = "500.00", **dates):
    async with unit_of_work(pool) as conn:
        campaign = await campaigns.create(
            conn, name=name, terms=CampaignTerms(rate_per_1000=D("100")), status=status, **dates
        )
        if budget is not None:
            await campaigns.fund(conn, campaign_id=campaign.id, amount=D(budget), idempotency_key=f"f:{campaign.id}")
    return campaign


async def _listing(pool, *, limit: int = 10, offset: int = 0) -> creator_campaigns.CampaignListing:
    async with pool.connection() as conn:
        return await creator_campaigns.listing(conn, now=NOW, limit=limit, offset=offset)


def _names(found) -> list[str]:
    return [campaign.name for campaign in found]


async def test_open_campaigns_come_first_then_upcoming_ones_by_start_and_nothing_else(db):
    soon = NOW + timedelta(days=3)
    await _campaign(db, "open old", status=CampaignStatus.OPEN)
    await _campaign(db, "open new", status=CampaignStatus.OPEN)
    await _campaign(db, "later", starts_at=NOW + timedelta(days=9))
    await _campaign(db, "sooner", starts_at=soon, ends_at=soon + timedelta(days=7))
    await _campaign(db, "no money", starts_at=soon, budget=None)
    await _campaign(db, "no start date")
    await _campaign(db, "too far", starts_at=NOW + UPCOMING_HORIZON + timedelta(hours=1))
    await _campaign(db, "start came", starts_at=NOW - timedelta(minutes=1))
    await _campaign(db, "paused", status=CampaignStatus.PAUSED, starts_at=soon)
    closed = await _campaign(db, "closed", starts_at=soon)
    async with unit_of_work(db) as conn:
        await campaign_life.close_with_notices(conn, campaign_id=closed.id, reason=CloseReason.ADMIN)

    listed = await _listing(db)
    assert _names(listed.open) == ["open new", "open old"]
    assert _names(listed.upcoming) == ["sooner", "later"]
    assert (listed.open_total, listed.upcoming_total, listed.total) == (2, 2, 4)
    # pages run on from the open campaigns into the upcoming ones
    pages = [await _listing(db, limit=3, offset=offset) for offset in (0, 3)]
    assert [(_names(page.open), _names(page.upcoming)) for page in pages] == [
        (["open new", "open old"], ["sooner"]),
        ([], ["later"]),
    ]


async def test_an_upcoming_campaign_is_joined_once_and_not_once_it_is_cancelled(db):
    upcoming = await _campaign(db, "upcoming", starts_at=NOW + timedelta(days=3))
    unfunded = await _campaign(db, "unfunded", starts_at=NOW + timedelta(days=3), budget=None)
    paused = await _campaign(db, "paused", status=CampaignStatus.PAUSED)
    opened = await _campaign(db, "open", status=CampaignStatus.OPEN)
    async with unit_of_work(db) as conn:
        user = await users.get_or_create(conn, telegram_id=next(_ids), language="ru")
        other = await users.get_or_create(conn, telegram_id=next(_ids), language="en")
    async with unit_of_work(db) as conn:
        assert [await creator_campaigns.joinable(conn, c.id, now=NOW) for c in (unfunded, paused)] == [None, None]
        assert await creator_campaigns.joinable(conn, 1, now=NOW) is None  # the default program: no one joins it
        assert (await creator_campaigns.joinable(conn, opened.id, now=NOW)).id == opened.id
        found = await creator_campaigns.joinable(conn, upcoming.id, now=NOW)
        assert found is not None and found.status is CampaignStatus.DRAFT
        assert await campaigns.join(conn, campaign_id=upcoming.id, user_id=user.id)
        assert await campaigns.join(conn, campaign_id=upcoming.id, user_id=other.id)
    async with unit_of_work(db) as conn:
        assert not await campaigns.join(conn, campaign_id=upcoming.id, user_id=user.id)  # twice: joined once
        assert await campaigns.member_ids(conn, upcoming.id) == [user.id, other.id]

    # cancelled before it opened: gone from the list, not joinable, members told so once
    for _ in range(2):
        async with unit_of_work(db) as conn:
            await campaign_life.apply_action(
                conn, campaign_id=upcoming.id, action=AdminAction.CLOSE, now=NOW, event="closed"
            )
    assert _names((await _listing(db)).upcoming) == []
    async with db.connection() as conn:
        assert await creator_campaigns.joinable(conn, upcoming.id, now=NOW) is None
        rows = await fetch_all(
            conn, "SELECT user_id, key FROM outbox WHERE dedup_key LIKE %s ORDER BY id", (f"campaign:{upcoming.id}:%",)
        )
    assert [(row["user_id"], row["key"]) for row in rows] == [
        (user.id, "campaigns.admin.notice_cancelled"),
        (other.id, "campaigns.admin.notice_cancelled"),
    ]


async def test_a_campaign_that_had_opened_is_told_it_closed_not_cancelled(db):
    campaign = await _campaign(db, "ran", status=CampaignStatus.OPEN)
    async with unit_of_work(db) as conn:
        user = await users.get_or_create(conn, telegram_id=next(_ids), language="en")
        await campaigns.join(conn, campaign_id=campaign.id, user_id=user.id)
        await campaign_life.apply_action(conn, campaign_id=campaign.id, action=AdminAction.PAUSE, now=NOW, event="p")
        _, staged = await campaign_life.close_with_notices(conn, campaign_id=campaign.id, reason=CloseReason.ENDED)
    assert [entry.key for entry in staged] == ["campaigns.admin.notice_ended"]
