"""Campaign budgets in the ledger, through the real credit path (``checks.record_check``)
on a database of the test's own: the default program keeps today's figures, a campaign
pays exactly its budget and closes, replays spend nothing, many connections crediting two
campaigns at once never overspend, holds come out of the budget and go back to it."""

from __future__ import annotations

import asyncio
import itertools
import os
from datetime import datetime, timedelta, timezone
from decimal import Decimal as D

import psycopg
import pytest

from zenith.domain.campaigns import DEFAULT_CAMPAIGN_ID, CampaignStatus, CampaignTerms
from zenith.domain.earnings import EarningsPolicy, earned_total
from zenith.domain.trust import Signal, SignalKind
from zenith.storage import campaigns, checks, ledger, trust_holds, users, videos
from zenith.storage.db import open_pool, unit_of_work
from zenith.storage.ledger_check import check_ledger

_ids = itertools.count(os.getpid() * 1_000_000 + 500_001)
T0 = datetime(2026, 1, 1, tzinfo=timezone.utc)
PROGRAM = EarningsPolicy.from_values(rate_per_1000=65, min_views=1000, cap=50000)


@pytest.fixture
async def db(clean_database_url):
    pool = await open_pool(clean_database_url, min_size=1, max_size=24, name="campaigns-test")
    try:
        yield pool
    finally:
        await pool.close()


async def _user(pool) -> users.User:
    async with pool.connection() as conn:
        return await users.get_or_create(conn, telegram_id=next(_ids), language="en")


async def _video(pool, user: users.User, *, campaign_id: int = DEFAULT_CAMPAIGN_ID) -> videos.Video:
    n = next(_ids)
    async with pool.connection() as conn:
        video, _ = await videos.insert(
            conn,
            platform="tiktok",
            external_id=f"73{n:017d}",
            user_id=user.id,
            url=f"https://www.tiktok.com/@a/video/{n}",
            request_id=f"req-{n}",
            status="approved",
            campaign_id=campaign_id,
        )
    return video


async def _campaign(pool, *, budget: str, rate: str = "100", **terms) -> campaigns.Campaign:
    async with unit_of_work(pool) as conn:
        campaign = await campaigns.create(
            conn,
            name=f"Brand {next(_ids)}",
            terms=CampaignTerms(rate_per_1000=D(rate), min_views=0, **terms),
            funder="brand",
            status=CampaignStatus.OPEN,
        )
        await campaigns.fund(conn, campaign_id=campaign.id, amount=D(budget), idempotency_key=f"fund:{campaign.id}:1")
    return campaign


async def _check(pool, video_id: int, *, views: int, at: datetime, total: D, judge=None) -> checks.CheckResult:
    async with unit_of_work(pool) as conn:
        return await checks.record_check(
            conn,
            video_id=video_id,
            views=views,
            likes=0,
            comments=0,
            taken_at=at,
            earned_total=total,
            next_check_at=None,
            judge=judge,
        )


async def _budget(pool, campaign_id: int) -> D:
    async with pool.connection() as conn:
        return await ledger.account_balance(conn, ledger.budget_account(campaign_id))


async def test_the_default_program_keeps_todays_figures(db):
    user = await _user(db)
    video = await _video(db, user)
    assert video.campaign_id == DEFAULT_CAMPAIGN_ID
    total = earned_total(views=15_000, platform="tiktok", tier="bronze", policy=PROGRAM)
    result = await _check(db, video.id, views=15_000, at=T0, total=total)
    assert (total, result.credited_now, result.campaign_spent) == (D("975.00"), D("975.00"), None)
    async with db.connection() as conn:
        assert (await ledger.balances(conn, user.id)).available == D("975.00")
        assert await ledger.account_balance(conn, ledger.EARNINGS) == D(
            "-975.00"
        )  # paid as before, from system:earnings
        default = await campaigns.get(conn, DEFAULT_CAMPAIGN_ID)
        assert (default.budgeted, default.status, default.rate_per_1000) == (False, CampaignStatus.OPEN, None)
        assert await check_ledger(conn) == []


async def test_a_campaign_pays_exactly_its_budget_then_closes_and_returns_nothing_more(db):
    campaign = await _campaign(db, budget="1000.00")
    first, second = await _user(db), await _user(db)
    video_a, video_b = (
        await _video(db, first, campaign_id=campaign.id),
        await _video(db, second, campaign_id=campaign.id),
    )
    a = await _check(db, video_a.id, views=9_750, at=T0, total=D("975.00"))
    b = await _check(db, video_b.id, views=9_750, at=T0, total=D("975.00"))
    assert (a.credited_now, a.campaign_spent) == (D("975.00"), None)
    assert b.credited_now == D("25.00") and b.video.credited == D("25.00")  # what was left
    assert b.campaign_spent is not None and b.campaign_spent.status is CampaignStatus.CLOSED
    later = await _check(db, video_a.id, views=20_000, at=T0 + timedelta(hours=1), total=D("2000.00"))
    assert later.credited_now == D("0.00")  # a closed campaign pays nothing more
    async with db.connection() as conn:
        spend = await campaigns.spend(conn, campaign.id)
        assert (spend.funded, spend.spent, spend.remaining, spend.videos) == (D("1000.00"), D("1000.00"), D("0.00"), 2)
        assert (await campaigns.get(conn, campaign.id)).close_reason == "budget spent"
        assert await check_ledger(conn) == []


async def test_a_replayed_check_spends_nothing_twice(db):
    campaign = await _campaign(db, budget="500.00")
    video = await _video(db, await _user(db), campaign_id=campaign.id)
    first = await _check(db, video.id, views=3_000, at=T0, total=D("300.00"))
    again = await _check(db, video.id, views=3_000, at=T0, total=D("300.00"))
    assert (first.credited_now, again.credited_now, again.replay) == (D("300.00"), D("0.00"), True)
    assert await _budget(db, campaign.id) == D("200.00")


async def test_many_connections_crediting_two_campaigns_at_once_never_overspend(db):
    budgets = {"red": D("1234.56"), "blue": D("777.77")}
    camps = {name: await _campaign(db, budget=str(amount)) for name, amount in budgets.items()}
    vids = {
        name: [await _video(db, await _user(db), campaign_id=camp.id) for _ in range(12)]
        for name, camp in camps.items()
    }

    async def grow(video: videos.Video, step: int) -> D:
        paid = D("0.00")
        for n in range(1, 8):  # each video asks for 70.00 more per check: far more than the budgets
            result = await _check(db, video.id, views=n * step, at=T0 + timedelta(minutes=n), total=D("70.00") * n)
            paid += result.credited_now
        return paid

    paid = await asyncio.gather(*(grow(video, 700) for name in vids for video in vids[name]))
    assert sum(paid) == sum(budgets.values())
    async with db.connection() as conn:
        for name, camp in camps.items():
            spend = await campaigns.spend(conn, camp.id)
            assert (spend.spent, spend.remaining) == (budgets[name], D("0.00")), name
            assert (await campaigns.get(conn, camp.id)).status is CampaignStatus.CLOSED
            credited = [(await videos.get(conn, v.id)).credited for v in vids[name]]
            assert sum(credited) == budgets[name]
        assert await check_ledger(conn) == []


async def test_closing_returns_the_unspent_budget_to_the_funder_once(db):
    campaign = await _campaign(db, budget="800.00")
    video = await _video(db, await _user(db), campaign_id=campaign.id)
    await _check(db, video.id, views=3_000, at=T0, total=D("300.00"))
    async with unit_of_work(db) as conn:
        closed = await campaigns.close(conn, campaign_id=campaign.id, reason="ended by an admin")
        again = await campaigns.close(conn, campaign_id=campaign.id, reason="twice")
    assert closed.status is CampaignStatus.CLOSED and again is None
    async with db.connection() as conn:
        assert await ledger.account_balance(conn, ledger.budget_account(campaign.id)) == D("0.00")
        assert await ledger.account_balance(conn, ledger.SPONSORS) == D("-300.00")  # 800 in, 500 back
        assert await check_ledger(conn) == []
    with pytest.raises(ValueError):
        async with unit_of_work(db) as conn:
            await campaigns.fund(conn, campaign_id=campaign.id, amount=D("10.00"), idempotency_key="late")


async def test_held_growth_comes_out_of_the_budget_and_a_reversal_goes_back_to_it(db):
    campaign = await _campaign(db, budget="500.00")
    user = await _user(db)
    video = await _video(db, user, campaign_id=campaign.id)

    async def spike(conn, video):
        return [Signal(SignalKind.SPIKE, {"views_per_hour": 1_000_000})]

    result = await _check(db, video.id, views=4_000, at=T0, total=D("400.00"), judge=spike)
    assert (result.held_now, result.credited_now) == (D("400.00"), D("0.00"))
    assert await _budget(db, campaign.id) == D("100.00")
    async with unit_of_work(db) as conn:
        hold = (await trust_holds.open_for_user(conn, user.id))[0]
        await trust_holds.decide(conn, hold_id=hold.id, decision=trust_holds.REVERSE, admin_id=1, reason="bought views")
    assert await _budget(db, campaign.id) == D("500.00")
    async with unit_of_work(db) as conn:
        await campaigns.close(conn, campaign_id=campaign.id, reason="ended")
    async with db.connection() as conn:
        assert await check_ledger(conn) == []


async def test_a_reversal_after_the_campaign_closed_goes_back_to_the_funder(db):
    campaign = await _campaign(db, budget="500.00")
    user = await _user(db)
    video = await _video(db, user, campaign_id=campaign.id)

    async def spike(conn, video):
        return [Signal(SignalKind.SPIKE, {"views_per_hour": 1_000_000})]

    await _check(db, video.id, views=4_000, at=T0, total=D("400.00"), judge=spike)
    async with unit_of_work(db) as conn:
        await campaigns.close(conn, campaign_id=campaign.id, reason="ended")
        hold = (await trust_holds.open_for_user(conn, user.id))[0]
        await trust_holds.decide(conn, hold_id=hold.id, decision=trust_holds.REVERSE, admin_id=1, reason="bought views")
    async with db.connection() as conn:
        assert await _budget(db, campaign.id) == D("0.00")
        assert await ledger.account_balance(conn, ledger.SPONSORS) == D("0.00")  # all 500 went back
        assert await check_ledger(conn) == []


async def test_the_ledger_check_reports_a_budget_overdrawn_by_hand(db):
    campaign = await _campaign(db, budget="100.00")
    async with db.connection() as conn:
        with pytest.raises(psycopg.errors.CheckViolation):  # the CHECK constraint refuses a negative budget outright
            await conn.execute(
                "UPDATE ledger_accounts SET balance = -1 WHERE key = %s", (ledger.budget_account(campaign.id),)
            )
        await conn.execute("UPDATE campaigns SET status = 'closed', closed_at = now() WHERE id = %s", (campaign.id,))
        assert await check_ledger(conn) == [f"campaign {campaign.id}: closed with 100.00 left in its budget"]
