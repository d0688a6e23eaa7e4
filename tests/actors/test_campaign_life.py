"""The clock runs campaigns' lives: a campaign past its end date is closed by two clocks at
once exactly once, its unspent budget goes back to the funder to the kopeck, and each
member is told once through the outbox and a real worker; a scheduled draft opens on
its start date only once it holds money."""

from __future__ import annotations

import asyncio
import uuid
from datetime import datetime, timedelta, timezone
from decimal import Decimal

from tests.actors.conftest import eventually
from zenith.actors.campaign_clock import run_campaign_life
from zenith.actors.runtime import Runtime
from zenith.domain.campaigns import CampaignStatus, CampaignTerms
from zenith.storage import campaigns, checks, ledger, videos
from zenith.storage.db import fetch_all, unit_of_work


async def _campaign(pool, *, status, budget: str | None, starts_at=None, ends_at=None) -> campaigns.Campaign:
    async with unit_of_work(pool) as conn:
        campaign = await campaigns.create(
            conn,
            name=f"Life {uuid.uuid4().hex[:6]}",
            terms=CampaignTerms(rate_per_1000=Decimal("100"), min_views=0),
            status=status,
            starts_at=starts_at,
            ends_at=ends_at,
        )
        if budget is not None:
            await campaigns.fund(
                conn, campaign_id=campaign.id, amount=Decimal(budget), idempotency_key=f"fund:{campaign.id}"
            )
    return campaign


async def _members(pool, campaign, make_user, state, n: int):
    members = [await make_user(language="en") for _ in range(n)]
    async with unit_of_work(pool) as conn:
        for user in members:
            state.add_user(user.telegram_id)
            await campaigns.join(conn, campaign_id=campaign.id, user_id=user.id)
    return members


async def _credit(pool, campaign, user, *, amount: str) -> None:
    n = uuid.uuid4().int % 10**17
    async with unit_of_work(pool) as conn:
        video, _ = await videos.insert(
            conn,
            platform="tiktok",
            external_id=f"74{n:017d}",
            user_id=user.id,
            url=f"https://www.tiktok.com/@life/video/{n}",
            request_id=uuid.uuid4().hex,
            status="approved",
            campaign_id=campaign.id,
        )
        await checks.record_check(
            conn,
            video_id=video.id,
            views=3_000,
            likes=0,
            comments=0,
            taken_at=datetime.now(timezone.utc),
            earned_total=Decimal(amount),
            next_check_at=None,
        )


async def _returned(pool, campaign_id: int) -> list[Decimal]:
    async with pool.connection() as conn:
        rows = await fetch_all(
            conn,
            "SELECT amount FROM ledger_transfers WHERE from_account = %s AND kind = 'fund_return' ORDER BY id",
            (ledger.budget_account(campaign_id),),
        )
    return [row["amount"] for row in rows]


async def test_two_clocks_close_an_ended_campaign_once_return_the_rest_and_tell_each_member_once(
    running_worker, sandbox, make_settings, actor_env, make_user, pool, redis_url
):
    state, _ = sandbox
    now = datetime.now(timezone.utc)
    campaign = await _campaign(pool, status=CampaignStatus.OPEN, budget="1000.00", ends_at=now + timedelta(hours=1))
    members = await _members(pool, campaign, make_user, state, 3)
    await _credit(pool, campaign, members[0], amount="312.34")
    settings = make_settings(**actor_env)
    async with running_worker() as worker:
        runtimes = [
            Runtime(settings, broker=worker.broker, database_url=settings.database_url, redis_url=redis_url)
            for _ in range(2)
        ]
        try:
            assert await run_campaign_life(runtimes[0], now) >= 0  # before the end: nothing of ours closes
            async with pool.connection() as conn:
                assert (await campaigns.get(conn, campaign.id)).status is CampaignStatus.OPEN
            later = now + timedelta(hours=2)
            await asyncio.gather(*(run_campaign_life(runtime, later) for runtime in runtimes))
            await asyncio.gather(*(run_campaign_life(runtime, later) for runtime in runtimes))  # redelivered ticks
            for user in members:
                await eventually(
                    lambda user=user: [m for m in state.messages_for(user.telegram_id) if "has ended" in m.text],
                    timeout=20,
                    what="the end-date notice",
                )
            await asyncio.sleep(1.0)  # a second notice, if any were staged, would have arrived by now
        finally:
            for runtime in runtimes:
                await runtime.close()
    for user in members:
        told = [m.text for m in state.messages_for(user.telegram_id)]
        assert told == [
            f"🏁 The campaign “{campaign.name}” has ended (its end date passed). Your videos in it keep what they earned."
        ]
    assert await _returned(pool, campaign.id) == [Decimal("687.66")]  # 1000.00 in, 312.34 paid: the rest, once
    async with pool.connection() as conn:
        closed = await campaigns.get(conn, campaign.id)
        assert (closed.status, closed.close_reason) == (CampaignStatus.CLOSED, "end date")
        assert await ledger.account_balance(conn, ledger.budget_account(campaign.id)) == Decimal("0.00")


async def test_a_scheduled_draft_opens_on_its_start_date_once_funded_and_members_hear_it_once(
    make_settings, actor_env, sandbox, make_user, pool, redis_url
):
    from zenith.messaging.broker import build_broker

    state, _ = sandbox
    now = datetime.now(timezone.utc)
    starts = now + timedelta(minutes=10)
    unfunded = await _campaign(pool, status=CampaignStatus.DRAFT, budget=None, starts_at=starts)
    funded = await _campaign(pool, status=CampaignStatus.DRAFT, budget="500.00", starts_at=starts)
    await _members(pool, funded, make_user, state, 2)
    settings = make_settings(**actor_env)
    broker = build_broker(settings, redis_url=redis_url, namespace=settings.redis_namespace)
    runtime = Runtime(settings, broker=broker, database_url=settings.database_url, redis_url=redis_url)
    try:
        await run_campaign_life(runtime, now)  # not yet
        async with pool.connection() as conn:
            assert (await campaigns.get(conn, funded.id)).status is CampaignStatus.DRAFT
        await asyncio.gather(*(run_campaign_life(runtime, starts + timedelta(seconds=5)) for _ in range(3)))
    finally:
        await runtime.close()
        broker.close()
    async with pool.connection() as conn:
        assert (await campaigns.get(conn, funded.id)).status is CampaignStatus.OPEN
        assert (await campaigns.get(conn, unfunded.id)).status is CampaignStatus.DRAFT  # waits for money
        staged = await fetch_all(
            conn, "SELECT key, params FROM outbox WHERE dedup_key LIKE %s", (f"campaign:{funded.id}:opened:%",)
        )
    assert [row["key"] for row in staged] == ["campaigns.admin.notice_opened"] * 2
