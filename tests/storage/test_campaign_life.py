"""A campaign's life in the database, on a database of the test's own: a double funding
with one key funds once, two closes at once return the budget once and stage each
member's notice once, a resume after a pause is news again, the credit that first
leaves a budget nearly spent tells the members once, and edits never touch a closed one."""

from __future__ import annotations

import asyncio
import itertools
import os
from datetime import datetime, timedelta, timezone
from decimal import Decimal as D

import pytest

from zenith.domain.campaign_admin import AdminAction, OpenRefusal
from zenith.domain.campaigns import CampaignStatus, CampaignTerms
from zenith.storage import campaign_life, campaigns, checks, ledger, users, videos
from zenith.storage.db import fetch_all, open_pool, unit_of_work
from zenith.storage.ledger_check import check_ledger

_ids = itertools.count(os.getpid() * 1_000_000 + 700_001)
T0 = datetime(2026, 1, 1, tzinfo=timezone.utc)


@pytest.fixture
async def db(clean_database_url):
    pool = await open_pool(clean_database_url, min_size=1, max_size=12, name="campaign-life-test")
    try:
        yield pool
    finally:
        await pool.close()


async def _campaign(pool, *, budget: str | None = None, status=CampaignStatus.OPEN, members: int = 0):
    async with unit_of_work(pool) as conn:
        campaign = await campaigns.create(
            conn,
            name=f"Brand {next(_ids)}",
            terms=CampaignTerms(rate_per_1000=D("100"), min_views=0),
            status=status,
        )
        if budget is not None:
            await campaigns.fund(conn, campaign_id=campaign.id, amount=D(budget), idempotency_key=f"f:{campaign.id}")
        joined = []
        for _ in range(members):
            user = await users.get_or_create(conn, telegram_id=next(_ids), language="en")
            await campaigns.join(conn, campaign_id=campaign.id, user_id=user.id)
            joined.append(user)
    return campaign, joined


async def _outbox(pool, campaign_id: int) -> list[tuple[str, str]]:
    async with pool.connection() as conn:
        rows = await fetch_all(
            conn,
            "SELECT key, dedup_key FROM outbox WHERE dedup_key LIKE %s ORDER BY id",
            (f"campaign:{campaign_id}:%",),
        )
    return [(row["key"], row["dedup_key"]) for row in rows]


async def _budget(pool, campaign_id: int) -> D:
    async with pool.connection() as conn:
        return await ledger.account_balance(conn, ledger.budget_account(campaign_id))


async def test_a_double_tapped_funding_funds_once_and_another_key_funds_again(db):
    campaign, _ = await _campaign(db, status=CampaignStatus.DRAFT)

    async def fund(key: str) -> bool:
        async with unit_of_work(db) as conn:
            return await campaigns.fund(conn, campaign_id=campaign.id, amount=D("250.50"), idempotency_key=key)

    made = await asyncio.gather(*(fund("campaign:fund:tap-1") for _ in range(4)))
    assert sorted(made) == [False, False, False, True]
    assert await _budget(db, campaign.id) == D("250.50")
    assert await fund("campaign:fund:tap-2") is True
    assert await _budget(db, campaign.id) == D("501.00")


async def test_two_closes_at_once_return_the_budget_once_and_tell_each_member_once(db):
    campaign, members = await _campaign(db, budget="900.00", members=3)

    async def close():
        async with unit_of_work(db) as conn:
            return await campaign_life.apply_action(
                conn, campaign_id=campaign.id, action=AdminAction.CLOSE, now=T0, event="x"
            )

    results = await asyncio.gather(close(), close(), close())
    assert sorted(result.changed for result in results) == [False, False, True]
    assert sum(len(result.staged) for result in results) == 3
    assert all(result.stale for result in results if not result.changed)
    assert await _budget(db, campaign.id) == D("0.00")
    assert await _outbox(db, campaign.id) == [
        ("campaigns.admin.notice_closed", f"campaign:{campaign.id}:closed:{user.id}") for user in members
    ]
    async with db.connection() as conn:
        returned = await fetch_all(
            conn,
            "SELECT amount FROM ledger_transfers WHERE from_account = %s AND kind = 'fund_return'",
            (ledger.budget_account(campaign.id),),
        )
        assert [row["amount"] for row in returned] == [D("900.00")]
        assert (await campaigns.get(conn, campaign.id)).close_reason == "closed by an admin"
        assert await check_ledger(conn) == []


async def test_pause_and_resume_tell_members_each_time_it_resumes_and_an_empty_budget_cannot_open(db):
    empty, _ = await _campaign(db, status=CampaignStatus.DRAFT)
    campaign, members = await _campaign(db, budget="100.00", members=2)

    async def act(campaign_id, action, event, now=T0):
        async with unit_of_work(db) as conn:
            return await campaign_life.apply_action(conn, campaign_id=campaign_id, action=action, now=now, event=event)

    refused = await act(empty.id, AdminAction.OPEN, "opened")
    assert (refused.changed, refused.refusal) == (False, OpenRefusal.NO_BUDGET)
    for n in (1, 2):
        paused = await act(campaign.id, AdminAction.PAUSE, f"p{n}")
        assert paused.changed and paused.campaign.status is CampaignStatus.PAUSED and paused.staged == ()
        assert (await act(campaign.id, AdminAction.PAUSE, f"p{n}")).stale
        resumed = await act(campaign.id, AdminAction.RESUME, f"resumed:{n}")
        assert resumed.changed and resumed.campaign.status is CampaignStatus.OPEN
    assert [key for key, _ in await _outbox(db, campaign.id)] == ["campaigns.admin.notice_resumed"] * 4
    async with db.connection() as conn:
        default = await campaign_life.apply_action(conn, campaign_id=1, action=AdminAction.PAUSE, now=T0, event="p")
    assert default.stale and default.campaign.status is CampaignStatus.OPEN  # the program is never paused


async def test_the_credit_that_first_leaves_a_budget_nearly_spent_tells_members_once(db):
    campaign, members = await _campaign(db, budget="1000.00", members=2)
    async with unit_of_work(db) as conn:
        video, _ = await videos.insert(
            conn,
            platform="tiktok",
            external_id=f"73{next(_ids):017d}",
            user_id=members[0].id,
            url="https://www.tiktok.com/@a/video/1",
            request_id=f"req-{next(_ids)}",
            status="approved",
            campaign_id=campaign.id,
        )

    async def check(minutes: int, total: str) -> checks.CheckResult:
        async with unit_of_work(db) as conn:
            return await checks.record_check(
                conn,
                video_id=video.id,
                views=minutes * 1000,
                likes=0,
                comments=0,
                taken_at=T0 + timedelta(minutes=minutes),
                earned_total=D(total),
                next_check_at=None,
            )

    assert (await check(1, "899.00")).campaign_notices == ()  # 101.00 left: above 10 %
    crossing = await check(2, "905.00")  # 95.00 left
    assert [entry.key for entry in crossing.campaign_notices] == ["campaigns.admin.notice_nearly_spent"] * 2
    assert crossing.campaign_notices[0].params == {"campaign": campaign.name, "remaining": "95.00"}
    assert (await check(3, "950.00")).campaign_notices == ()  # told already
    last = await check(4, "2000.00")  # the rest: closes, and the close is its own notice
    assert last.credited_now == D("50.00")
    assert [entry.key for entry in last.campaign_notices] == ["notify.campaign.spent"] * 2
    assert [dedup for _, dedup in await _outbox(db, campaign.id)] == [
        *(f"campaign:{campaign.id}:nearly_spent:{user.id}" for user in members),
        *(f"campaign:{campaign.id}:closed:{user.id}" for user in members),
    ]


async def test_rules_change_until_the_campaign_closes(db):
    campaign, _ = await _campaign(db, budget="10.00")
    terms = CampaignTerms(rate_per_1000=D("80"), min_views=500, required_tags=("#New",))
    ends = T0 + timedelta(days=30)
    async with unit_of_work(db) as conn:
        edited = await campaign_life.update_rules(
            conn, campaign_id=campaign.id, terms=terms, starts_at=None, ends_at=ends
        )
    assert (edited.rate_per_1000, edited.min_views, edited.required_tags, edited.ends_at) == (
        D("80.00"),
        500,
        ["#new"],
        ends,
    )
    async with unit_of_work(db) as conn:
        await campaigns.close(conn, campaign_id=campaign.id, reason="closed by an admin")
        assert (
            await campaign_life.update_rules(conn, campaign_id=campaign.id, terms=terms, starts_at=None, ends_at=None)
            is None
        )
        assert await campaign_life.update_rules(conn, campaign_id=1, terms=terms, starts_at=None, ends_at=None) is None
