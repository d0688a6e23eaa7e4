"""Submitting to campaigns through a real worker against the fake TikTok: the campaign's
rules judged on the platform's answer, its own rate paid from its budget, and one video
in one campaign only."""

from __future__ import annotations

import uuid
from decimal import Decimal

from tests.actors.conftest import eventually, new_tiktok_id
from zenith.domain.campaigns import CampaignStatus, CampaignTerms
from zenith.domain.links import Platform
from zenith.messaging.contract import SUBMIT_VIDEO, send
from zenith.storage import campaigns, ledger
from zenith.storage.db import fetch_all, unit_of_work


async def _open_campaign(pool, *, name: str, budget: str, rate: str, **terms) -> campaigns.Campaign:
    async with unit_of_work(pool) as conn:
        campaign = await campaigns.create(
            conn,
            name=name,
            terms=CampaignTerms(rate_per_1000=Decimal(rate), min_views=0, **terms),
            status=CampaignStatus.OPEN,
        )
        await campaigns.fund(
            conn, campaign_id=campaign.id, amount=Decimal(budget), idempotency_key=f"fund:{campaign.id}"
        )
    return campaign


async def _creator(make_user, make_verified_account, state, fake_tiktok):
    user = await make_user(tier="gold", language="en")
    state.add_user(user.telegram_id)
    author, author_id = f"maker{uuid.uuid4().hex[:8]}", "68" + str(uuid.uuid4().int)[:17]
    await make_verified_account(user, "tiktok", author_id, handle=author)
    return user, author, author_id


async def _videos(pool, user_id: int) -> list[dict]:
    async with pool.connection() as conn:
        return await fetch_all(
            conn, "SELECT external_id, campaign_id, credited FROM videos WHERE user_id = %s ORDER BY id", (user_id,)
        )


async def test_a_video_earns_in_the_campaign_picked_and_cannot_join_a_second(
    running_worker, sandbox, fake_tiktok, make_user, make_verified_account, pool
):
    state, _ = sandbox
    user, author, author_id = await _creator(make_user, make_verified_account, state, fake_tiktok)
    red = await _open_campaign(
        pool, name=f"Red {uuid.uuid4().hex[:6]}", budget="5000.00", rate="200", required_tags=("#redbrand",)
    )
    blue = await _open_campaign(pool, name=f"Blue {uuid.uuid4().hex[:6]}", budget="5000.00", rate="300")
    async with unit_of_work(pool) as conn:
        for campaign in (red, blue):
            await campaigns.join(conn, campaign_id=campaign.id, user_id=user.id)
    video_id = new_tiktok_id()
    fake_tiktok.state.add_video(
        video_id, views=10_000, author=author, author_id=author_id, desc="a dance for #RedBrand"
    )
    link = f"https://www.tiktok.com/@{author}/video/{video_id}"
    async with running_worker() as worker:
        send(SUBMIT_VIDEO, user.id, link, uuid.uuid4().hex, red.id, broker=worker.broker)

        async def credited():
            rows = await _videos(pool, user.id)
            return rows if rows and rows[0]["credited"] > 0 else None

        rows = await eventually(credited, timeout=30, what="the video credited in its campaign")
        send(SUBMIT_VIDEO, user.id, link, uuid.uuid4().hex, blue.id, broker=worker.broker)
        message = await eventually(
            lambda: [m for m in state.messages_for(user.telegram_id) if "already submitted" in m.text],
            timeout=20,
            what="the duplicate notice",
        )
    assert message[0].text == f"This video was already submitted: {link}"
    assert rows == [
        {"external_id": video_id, "campaign_id": red.id, "credited": Decimal("2000.00")}
    ]  # 10,000 views at Red's 200
    async with pool.connection() as conn:
        assert await ledger.account_balance(conn, ledger.budget_account(red.id)) == Decimal("3000.00")
        assert await ledger.account_balance(conn, ledger.budget_account(blue.id)) == Decimal("5000.00")


async def test_campaign_rules_refuse_with_the_reason(
    running_worker, sandbox, fake_tiktok, make_user, make_verified_account, pool
):
    state, _ = sandbox
    user, author, author_id = await _creator(make_user, make_verified_account, state, fake_tiktok)
    tagged = await _open_campaign(
        pool, name=f"Tagged {uuid.uuid4().hex[:6]}", budget="100.00", rate="100", required_tags=("#zenith",)
    )
    youtube_only = await _open_campaign(
        pool, name=f"Tube {uuid.uuid4().hex[:6]}", budget="100.00", rate="100", platforms=frozenset({Platform.YOUTUBE})
    )
    stranger = await _open_campaign(pool, name=f"Closed door {uuid.uuid4().hex[:6]}", budget="100.00", rate="100")
    async with unit_of_work(pool) as conn:
        for campaign in (tagged, youtube_only):
            await campaigns.join(conn, campaign_id=campaign.id, user_id=user.id)
    links = {}
    for campaign in (tagged, youtube_only, stranger):
        video_id = new_tiktok_id()
        fake_tiktok.state.add_video(
            video_id, views=5_000, author=author, author_id=author_id, desc="no tags here, #zenithfan"
        )
        links[campaign.id] = f"https://www.tiktok.com/@{author}/video/{video_id}"
    async with running_worker() as worker:
        for campaign_id, link in links.items():
            send(SUBMIT_VIDEO, user.id, link, uuid.uuid4().hex, campaign_id, broker=worker.broker)
        messages = await eventually(
            lambda: len(state.messages_for(user.telegram_id)) >= 3 and state.messages_for(user.telegram_id),
            timeout=30,
            what="three refusals",
        )
    texts = sorted(m.text for m in messages)
    assert texts == sorted(
        [
            f"The campaign “{tagged.name}” needs #zenith in the video's title or description: {links[tagged.id]} was not submitted. Add it on the platform and send the link again.",
            f"The campaign “{youtube_only.name}” does not take videos from tiktok: {links[youtube_only.id]} was not submitted.",
            f"Join the campaign “{stranger.name}” before sending videos to it: {links[stranger.id]} was not submitted.",
        ]
    )
    assert await _videos(pool, user.id) == []


async def test_the_credit_that_spends_the_budget_closes_the_campaign_and_tells_its_members(
    running_worker, sandbox, fake_tiktok, make_user, make_verified_account, pool
):
    state, _ = sandbox
    user, author, author_id = await _creator(make_user, make_verified_account, state, fake_tiktok)
    other = await make_user(language="ru")
    state.add_user(other.telegram_id)
    small = await _open_campaign(pool, name=f"Small {uuid.uuid4().hex[:6]}", budget="500.00", rate="100")
    async with unit_of_work(pool) as conn:
        for member in (user, other):
            await campaigns.join(conn, campaign_id=small.id, user_id=member.id)
    video_id = new_tiktok_id()
    fake_tiktok.state.add_video(
        video_id, views=10_000, author=author, author_id=author_id
    )  # earns 1,000 at 100: twice the budget
    async with running_worker() as worker:
        send(
            SUBMIT_VIDEO,
            user.id,
            f"https://www.tiktok.com/@{author}/video/{video_id}",
            uuid.uuid4().hex,
            broker=worker.broker,
        )  # the only joined one
        told = await eventually(lambda: state.messages_for(other.telegram_id), timeout=30, what="the other member told")
        mine = await eventually(
            lambda: [m for m in state.messages_for(user.telegram_id) if "🏁" in m.text],
            timeout=15,
            what="the creator told",
        )
    assert (
        told[0].text
        == f"🏁 Кампания «{small.name}» израсходовала весь бюджет и закрыта. Ваши видео в ней сохраняют заработанное; новые видео отправляйте в другие кампании."
    )
    assert len(mine) == 1
    assert await _videos(pool, user.id) == [
        {"external_id": video_id, "campaign_id": small.id, "credited": Decimal("500.00")}
    ]
    async with pool.connection() as conn:
        closed = await campaigns.get(conn, small.id)
        assert (closed.status, closed.close_reason) == (CampaignStatus.CLOSED, "budget spent")
        assert await ledger.account_balance(conn, ledger.budget_account(small.id)) == Decimal("0.00")
