"""Campaigns from the creator's side, through the sandbox bot and the real actors.

A Gold creator browses the open campaigns (rate, platforms, rules, budget bar, days left,
pages), joins one (a second press changes nothing), submits a link that goes to it,
joins a second and is asked which campaign the next link is for (the link waits for the
answer; a second press submits nothing more), and sees the campaign in the video list,
the card and the balance history. A creator who joined none submits to the default
program.
"""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta, timezone
from decimal import Decimal

from tests.bot.conftest import new_telegram_id, wait_until
from zenith.domain.campaigns import DEFAULT_CAMPAIGN_ID, CampaignStatus, CampaignTerms
from zenith.domain.links import Platform
from zenith.storage import accounts, campaigns, users
from zenith.storage.db import fetch_all, unit_of_work


async def _open_campaign(pool, name: str, *, rate: str, **terms) -> campaigns.Campaign:
    async with unit_of_work(pool) as conn:
        campaign = await campaigns.create(
            conn,
            name=name,
            terms=CampaignTerms(rate_per_1000=Decimal(rate), **terms),
            status=CampaignStatus.OPEN,
            ends_at=datetime.now(timezone.utc) + timedelta(days=5, hours=3),
        )
        await campaigns.fund(
            conn, campaign_id=campaign.id, amount=Decimal("20000"), idempotency_key=f"fund:{campaign.id}"
        )
    return campaign


async def _creator(sandbox, pool, youtube, *, language: str = "en") -> tuple[int, users.User, str]:
    """A registered Gold creator with a verified YouTube channel: (telegram id, user, channel id)."""
    uid = new_telegram_id()
    sandbox.state.user_sends_text(uid, "/start", first_name="Maker", language_code=language)
    await sandbox.state.wait_for_message(uid)
    channel = "UC" + uuid.uuid4().hex[:22]
    async with unit_of_work(pool) as conn:
        user = await users.find_by_telegram_id(conn, uid)
        user = await users.set_tier(conn, user_id=user.id, tier="gold")
        account = await accounts.create_pending(
            conn, user_id=user.id, platform="youtube", handle=channel.lower(), verification_code="ZM-ABCDEFGH"
        )
        await accounts.mark_verified(conn, account_id=account.id, external_id=channel)
    return uid, user, channel


async def _videos(pool, user_id: int) -> list[dict]:
    async with pool.connection() as conn:
        return await fetch_all(
            conn, "SELECT external_id, campaign_id, credited FROM videos WHERE user_id = %s ORDER BY id", (user_id,)
        )


def _video(youtube, channel: str, views: int = 20_000) -> tuple[str, str]:
    video_id = uuid.uuid4().hex[:11]
    youtube.state.add_video(video_id, views=views, channel_id=channel)
    return video_id, f"https://youtu.be/{video_id}"


async def test_creator_browses_joins_picks_and_sees_the_campaign(e2e_bot, worker, sandbox, fakes, pool):
    youtube = fakes[0]
    state = sandbox.state
    tag = uuid.uuid4().hex[:5]
    oldest = await _open_campaign(pool, f"Oldest {tag}", rate="100")
    tube = await _open_campaign(
        pool,
        f"Tube {tag}",
        rate="250",
        min_views=1_000,
        cap_per_video=Decimal("9000"),
        platforms=frozenset({Platform.YOUTUBE}),
        min_followers=500,
    )
    second = await _open_campaign(pool, f"Second {tag}", rate="300", min_views=0)
    newest = await _open_campaign(pool, f"Newest {tag}", rate="50", required_tags=("#zenith",))
    uid, user, channel = await _creator(sandbox, pool, youtube)
    youtube.state.add_channel(channel, handle=channel.lower(), subscribers=800)

    # the list, newest first, three a page
    state.user_sends_text(uid, "🎯 Campaigns")
    listing = await state.wait_for_message(uid, contains="Open campaigns")
    text = listing.text
    assert text.index(newest.name) < text.index(second.name) < text.index(tube.name)
    assert oldest.name not in text
    assert (
        f"{tube.name}\n💵 250.00 RUB per 1,000 views\n📱 YouTube\n👁 Earns from 1,000 views\n"
        "🔝 At most 9,000.00 RUB per video\n👥 At least 500 followers (where the platform shows them)\n"
        "💰 ░░░░░░░░░░ 20,000.00 of 20,000.00 RUB left\n⏳ 6 days left"
    ) in text
    assert "#️⃣ Title or description must carry: #zenith" in text
    page_buttons = [d for d in listing.callback_data() if d.startswith("cl:")]
    assert page_buttons[-1] == "cl:1"  # › to the next page
    state.user_presses_button(uid, listing.message_id, "cl:1")
    await state.wait_for_edit(uid, listing.message_id, contains=oldest.name)
    state.user_presses_button(uid, listing.message_id, "cl:0")
    listing = await state.wait_for_edit(uid, listing.message_id, contains=newest.name)

    # join: the card is marked, a second press of an old button changes nothing
    join = f"cj:{tube.id}:0"
    assert join in listing.callback_data()
    state.user_presses_button(uid, listing.message_id, join)
    await state.wait_for_message(uid, contains=f"You joined “{tube.name}”")
    listing = state.messages_for(uid)[-2]
    assert f"{tube.name} ✅ joined" in listing.text and join not in listing.callback_data()
    again = state.user_sends_callback(uid, listing.message_id, join)
    answer = await state.wait_for_callback_answer(again["callback_query"]["id"])
    assert answer["text"] == f"You are already in “{tube.name}”." and answer["show_alert"]
    async with pool.connection() as conn:
        assert await campaigns.member_ids(conn, tube.id) == [user.id]

    # one joined campaign: the link goes to it at once
    first_id, first_link = _video(youtube, channel)
    state.user_sends_text(uid, first_link)
    accepted = await state.wait_for_message(uid, contains="1 link accepted")
    assert f"Campaign: “{tube.name}”." in accepted.text
    await state.wait_for_message(uid, contains="+5,000.00 RUB", after=accepted.message_id, timeout=30)

    # two joined: asked which one; the link waits, the answer submits it once
    state.user_presses_button(uid, listing.message_id, f"cj:{second.id}:0")
    await state.wait_for_message(uid, contains=f"You joined “{second.name}”")
    second_id, second_link = _video(youtube, channel, views=3_000)
    state.user_sends_text(uid, f"{second_link} and https://example.com/nope")
    question = await state.wait_for_message(uid, contains="Which one is this link for?")
    assert "https://example.com/nope" in question.text  # refused links are told at once
    pick = f"cs:{question.callback_data()[0].split(':')[1]}:{second.id}"
    assert sorted(question.callback_data()) == sorted(
        pick.rsplit(":", 1)[0] + f":{campaign_id}" for campaign_id in (tube.id, second.id, DEFAULT_CAMPAIGN_ID)
    )
    assert await _videos(pool, user.id) == [
        {"external_id": first_id, "campaign_id": tube.id, "credited": Decimal("5000.00")}
    ]  # nothing submitted while asking
    state.user_presses_button(uid, question.message_id, pick)
    accepted = await state.wait_for_message(uid, contains="1 link accepted", after=question.message_id)
    assert f"Campaign: “{second.name}”." in accepted.text
    late = state.user_sends_callback(uid, question.message_id, pick.rsplit(":", 1)[0] + f":{tube.id}")
    assert (await state.wait_for_callback_answer(late["callback_query"]["id"]))["text"] == (
        "This question has expired. Send the links again."
    )
    await state.wait_for_message(uid, contains="+900.00 RUB", after=accepted.message_id, timeout=30)
    rows = await _videos(pool, user.id)
    assert [(row["external_id"], row["campaign_id"]) for row in rows] == [(first_id, tube.id), (second_id, second.id)]

    # the campaign next to each video, on its card and in the balance history
    state.user_sends_text(uid, "/videos")
    videos_list = await state.wait_for_message(uid, contains="My videos")
    assert f"🎯 {tube.name}" in videos_list.text and f"🎯 {second.name}" in videos_list.text
    card_button = next(d for d in videos_list.callback_data() if d.startswith("v:"))
    state.user_presses_button(uid, videos_list.message_id, card_button)
    card = await state.wait_for_message(uid, contains="Views:", after=videos_list.message_id)
    assert f"🎯 {second.name}" in (card.text or card.caption)
    state.user_sends_text(uid, "/balance")
    balance = await state.wait_for_message(uid, contains="Recent transfers")
    assert f"+5,000.00 RUB · earnings for views · {tube.name}" in balance.text
    assert f"+900.00 RUB · earnings for views · {second.name}" in balance.text


async def test_a_creator_in_no_campaign_submits_to_the_default_program(e2e_bot, worker, sandbox, fakes, pool):
    youtube = fakes[0]
    state = sandbox.state
    uid, user, channel = await _creator(sandbox, pool, youtube, language="ru")
    video_id, link = _video(youtube, channel)
    state.user_sends_text(uid, link)
    accepted = await state.wait_for_message(uid, contains="Принята 1 ссылка")
    assert "Кампания" not in accepted.text
    await state.wait_for_message(uid, contains="+1\u202f300,00", after=accepted.message_id, timeout=30)
    assert await _videos(pool, user.id) == [
        {"external_id": video_id, "campaign_id": DEFAULT_CAMPAIGN_ID, "credited": Decimal("1300.00")}
    ]
    state.user_sends_text(uid, "/videos")
    listing = await state.wait_for_message(uid, contains="Мои видео")
    assert "🎯 ZenithMedia" in listing.text


async def test_a_campaign_closed_while_asking_is_not_available_and_the_others_still_are(
    e2e_bot, worker, sandbox, fakes, pool
):
    youtube = fakes[0]
    state = sandbox.state
    tag = uuid.uuid4().hex[:5]
    first = await _open_campaign(pool, f"Soon closed {tag}", rate="100")
    other = await _open_campaign(pool, f"Stays {tag}", rate="100", min_views=0)
    uid, user, channel = await _creator(sandbox, pool, youtube)
    async with unit_of_work(pool) as conn:
        for campaign in (first, other):
            await campaigns.join(conn, campaign_id=campaign.id, user_id=user.id)
    video_id, link = _video(youtube, channel, views=0)
    state.user_sends_text(uid, link)
    question = await state.wait_for_message(uid, contains="Which one")
    async with unit_of_work(pool) as conn:
        await campaigns.close(conn, campaign_id=first.id, reason="test")
    nonce = question.callback_data()[0].split(":")[1]
    closed = state.user_presses_button(uid, question.message_id, f"cs:{nonce}:{first.id}")
    answer = await state.wait_for_callback_answer(closed["callback_query"]["id"])
    assert answer["text"] == "This button is no longer available."
    forged = state.user_sends_callback(uid, question.message_id, f"cs:{nonce}:999999999")
    assert (await state.wait_for_callback_answer(forged["callback_query"]["id"]))["text"] == (
        "This button is no longer available."
    )
    state.user_presses_button(uid, question.message_id, f"cs:{nonce}:{other.id}")
    await state.wait_for_message(uid, contains=f"Campaign: “{other.name}”", after=question.message_id)

    async def stored():
        return await _videos(pool, user.id)

    rows = await wait_until(stored, timeout=30)
    assert [(row["external_id"], row["campaign_id"]) for row in rows] == [(video_id, other.id)]

    # the same video again, to the standard program this time: one video, one campaign
    third = await _open_campaign(pool, f"Third {tag}", rate="100")
    async with unit_of_work(pool) as conn:
        await campaigns.join(conn, campaign_id=third.id, user_id=user.id)
    state.user_sends_text(uid, f"https://www.youtube.com/watch?v={video_id}")
    question = await state.wait_for_message(uid, contains="Which one")
    nonce = question.callback_data()[0].split(":")[1]
    state.user_presses_button(uid, question.message_id, f"cs:{nonce}:{DEFAULT_CAMPAIGN_ID}")
    await state.wait_for_message(uid, contains="already submitted", after=question.message_id, timeout=30)
    assert [(row["external_id"], row["campaign_id"]) for row in await _videos(pool, user.id)] == [(video_id, other.id)]
    # a forged nonce that is not one the bot makes never reaches Redis: the fallback answers
    junk = state.user_sends_callback(uid, question.message_id, f"cs:a*b:{other.id}")
    assert (await state.wait_for_callback_answer(junk["callback_query"]["id"]))["text"] == (
        "This button is no longer available."
    )
