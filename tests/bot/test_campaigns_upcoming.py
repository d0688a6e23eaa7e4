"""Upcoming campaigns from the creator's side, through the sandbox bot, the real actors and
the clock's campaign duty.

A scheduled, funded draft is listed below the open campaigns as "starts in 3 days" (ru:
"через 3 дня"; "tomorrow" for the next date); a draft without money or without a start
date and a paused campaign are not. Creators join it (a second press changes nothing),
yet a link they send does not go to it. The clock's tick at the start date opens it and
each member hears so once, in their language, however often the clock ticks.
"""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta, timezone
from decimal import Decimal

from tests.bot.conftest import drain, wait_until
from tests.bot.test_campaigns_creator import _creator, _video, _videos
from zenith.actors.campaign_clock import run_campaign_life
from zenith.actors.runtime import Runtime
from zenith.domain.campaigns import DEFAULT_CAMPAIGN_ID, CampaignStatus, CampaignTerms
from zenith.storage import campaigns, creator_campaigns
from zenith.storage.db import unit_of_work

PAGE_SIZE = 3  # the bot's campaigns per page


async def _campaign(pool, name: str, *, budget: str | None, status=CampaignStatus.DRAFT, **dates):
    async with unit_of_work(pool) as conn:
        campaign = await campaigns.create(
            conn, name=name, terms=CampaignTerms(rate_per_1000=Decimal("120")), status=status, **dates
        )
        if budget is not None:
            await campaigns.fund(
                conn, campaign_id=campaign.id, amount=Decimal(budget), idempotency_key=f"fund:{campaign.id}"
            )
    return campaign


async def _listed_ids(pool) -> list[int]:
    """Every campaign of the creator's list, in its order (the session database holds other tests' too)."""
    async with pool.connection() as conn:
        listed = await creator_campaigns.listing(conn, now=datetime.now(timezone.utc), limit=10_000, offset=0)
    return [campaign.id for campaign in [*listed.open, *listed.upcoming]]


async def _page_with(state, pool, uid: int, listing, campaign):
    """The list turned to the page that shows ``campaign``."""
    page = (await _listed_ids(pool)).index(campaign.id) // PAGE_SIZE
    if page == 0:
        assert campaign.name in listing.text
        return listing
    state.user_sends_callback(uid, listing.message_id, f"cl:{page}")
    return await state.wait_for_edit(uid, listing.message_id, contains=campaign.name)


def _card(text: str, name: str) -> str:
    return text[text.index(name) :].split("\n\n")[0]


async def test_creators_join_an_upcoming_campaign_and_hear_once_when_the_clock_opens_it(
    e2e_bot, worker, sandbox, fakes, pool, e2e_settings
):
    youtube = fakes[0]
    state = sandbox.state
    tag = uuid.uuid4().hex[:5]
    today = datetime.now(timezone.utc).replace(hour=0, minute=0, second=0, microsecond=0)
    starts = today + timedelta(days=3, hours=12)
    soon = await _campaign(pool, f"Soon {tag}", budget="20000", starts_at=starts, ends_at=starts + timedelta(days=7))
    tomorrow = await _campaign(pool, f"Tomorrow {tag}", budget="900", starts_at=today + timedelta(days=1, hours=9))
    hidden = [
        await _campaign(pool, f"Unfunded {tag}", budget=None, starts_at=starts),
        await _campaign(pool, f"Undated {tag}", budget="500"),
        await _campaign(pool, f"Paused {tag}", budget="500", status=CampaignStatus.PAUSED, starts_at=starts),
    ]
    listed = await _listed_ids(pool)
    assert soon.id in listed and tomorrow.id in listed
    assert not {campaign.id for campaign in hidden} & set(listed)

    uid, user, channel = await _creator(sandbox, pool, youtube)
    ru_uid, ru_user, _ = await _creator(sandbox, pool, youtube, language="ru")

    # listed below the open ones with when it starts, its rate, platforms and budget
    state.user_sends_text(uid, "/campaigns")
    listing = await state.wait_for_message(uid, contains="campaigns")
    listing = await _page_with(state, pool, uid, listing, soon)
    assert "Coming soon" in listing.text and listing.text.index("Coming soon") < listing.text.index(soon.name)
    assert _card(listing.text, soon.name) == (
        f"{soon.name}\n💵 120.00 RUB per 1,000 views\n📱 Instagram, TikTok, YouTube\n"
        "👁 Earns from 1,000 views\n🔝 At most 50,000.00 RUB per video\n"
        f"💰 ░░░░░░░░░░ 20,000.00 of 20,000.00 RUB left\n⏳ starts in 3 days, {starts:%d.%m.%Y %H:%M} UTC"
    )
    assert not any(campaign.name in listing.text for campaign in hidden)
    shown_tomorrow = await _page_with(state, pool, uid, listing, tomorrow)
    assert f"⏳ starts tomorrow, {tomorrow.starts_at:%d.%m.%Y} 09:00 UTC" in _card(shown_tomorrow.text, tomorrow.name)

    # joined before it opens, once
    listing = await _page_with(state, pool, uid, shown_tomorrow, soon)
    page = (await _listed_ids(pool)).index(soon.id) // PAGE_SIZE
    join = f"cj:{soon.id}:{page}"
    state.user_presses_button(uid, listing.message_id, join)
    joined = await state.wait_for_message(uid, contains=f"You joined “{soon.name}”")
    assert f"It opens {starts:%d.%m.%Y %H:%M} UTC and I will message you then" in joined.text
    listing = state.messages_for(uid)[-2]
    assert f"{soon.name} ✅ joined" in listing.text and join not in listing.callback_data()
    again = state.user_sends_callback(uid, listing.message_id, join)
    answer = await state.wait_for_callback_answer(again["callback_query"]["id"])
    assert answer["text"] == f"You are already in “{soon.name}”." and answer["show_alert"]
    # a forged press for a campaign not listed joins nothing
    forged = state.user_sends_callback(uid, listing.message_id, f"cj:{hidden[0].id}:0")
    assert (await state.wait_for_callback_answer(forged["callback_query"]["id"]))["text"] == (
        "This campaign no longer takes new creators."
    )

    state.user_sends_text(ru_uid, "/campaigns")
    ru_listing = await _page_with(state, pool, ru_uid, await state.wait_for_message(ru_uid), soon)
    assert f"⏳ начнётся через 3 дня, {starts:%d.%m.%Y %H:%M} UTC" in _card(ru_listing.text, soon.name)
    state.user_presses_button(ru_uid, ru_listing.message_id, join)
    await state.wait_for_message(ru_uid, contains=f"Вы вступили в «{soon.name}»")
    async with pool.connection() as conn:
        assert await campaigns.member_ids(conn, soon.id) == [user.id, ru_user.id]

    # no link goes to it before it opens: the bot asks about open campaigns only
    video_id, link = _video(youtube, channel)
    state.user_sends_text(uid, link)
    accepted = await state.wait_for_message(uid, contains="1 link accepted")
    assert "Campaign:" not in accepted.text and "Which one" not in accepted.text
    rows = await wait_until(lambda: _videos(pool, user.id), timeout=30)
    assert [(row["external_id"], row["campaign_id"]) for row in rows] == [(video_id, DEFAULT_CAMPAIGN_ID)]

    # the clock's ticks at the start date open it; each member is told once, in their language
    runtime = Runtime(
        e2e_settings, broker=worker.broker, database_url=e2e_settings.database_url, redis_url=e2e_settings.redis_url
    )
    try:
        await run_campaign_life(runtime, starts - timedelta(minutes=1))  # not yet
        async with pool.connection() as conn:
            assert (await campaigns.get(conn, soon.id)).status is CampaignStatus.DRAFT
        for _ in range(2):
            await run_campaign_life(runtime, starts + timedelta(seconds=5))
        opened = f"The campaign “{soon.name}” is open"
        await state.wait_for_message(uid, contains=opened, timeout=30)
        await state.wait_for_message(ru_uid, contains=f"Кампания «{soon.name}» открыта", timeout=30)
        await run_campaign_life(runtime, starts + timedelta(minutes=1))
        await drain(worker, "notifications")
    finally:
        await runtime.close()
    async with pool.connection() as conn:
        assert (await campaigns.get(conn, soon.id)).status is CampaignStatus.OPEN
    assert [m.text for m in state.messages_for(uid) if soon.name in (m.text or "") and "is open" in m.text] == [
        f"🎯 {opened}: send your videos to it."
    ]
    assert len([m for m in state.messages_for(ru_uid) if f"«{soon.name}» открыта" in (m.text or "")]) == 1
