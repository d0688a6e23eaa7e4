"""An admin sets a campaign's account rules from the bot (a real polling bot on the Bot API
sandbox, real PostgreSQL, Redis and actors): the create dialogue asks the minimum account
age and followers (garbage asked again), the draft stores them and creators' videos are
judged by them; Edit rules changes them, audited; two presses of Create handled at once
create one draft, and every later press says it was created already."""

from __future__ import annotations

import asyncio
import contextlib
import secrets
import uuid
from datetime import datetime, timedelta, timezone
from decimal import Decimal

from tests.bot.conftest import ADMIN_ID, new_telegram_id, wait_until
from tests.bot.test_campaigns_admin import Chat
from zenith.domain.campaigns import CampaignStatus
from zenith.storage import accounts, audit, campaigns, users
from zenith.storage.db import fetch_all, unit_of_work


def _confirm(message) -> str:
    (data,) = [data for data in message.callback_data() if data.startswith("acf:")]
    return data


async def _dialogue(chat: Chat, sandbox, name: str, *, age: str = "30", followers: str = "1 000"):
    """From the campaigns list to the summary, the account rules typed as given: the summary."""
    menu = await chat.says("/admin_campaigns", "Campaigns")
    await chat.presses(menu, "acn", "step 1 of 10")
    await chat.says(name, "RUB per 1,000 views")
    await chat.says("100", "Platforms it takes")
    await chat.says("all", "Hashtags or mentions")
    await chat.says("-", "Views before a video earns")
    await chat.says("0", "Most one video earns")
    await chat.says("-", "step 7 of 10. Minimum age of the creator's account in days")
    await chat.says(age, "step 8 of 10. Minimum followers")
    await chat.says(followers, "step 9 of 10. Start date")
    await chat.says("-", "End date")
    return await chat.says("-", "Create this campaign as a draft?")


async def _named(pool, name: str) -> list[campaigns.Campaign]:
    async with pool.connection() as conn:
        return [c for c in await campaigns.list_recent(conn, limit=200) if c.name == name]


async def _creator(sandbox, pool, youtube, *, created: str, subscribers: int) -> tuple[int, users.User, str]:
    """A Gold creator with a verified YouTube channel created then, with that many
    subscribers, and a video of it: (telegram id, user, the video's link)."""
    uid = new_telegram_id()
    sandbox.state.user_sends_text(uid, "/start", first_name="Maker", language_code="en")
    await sandbox.state.wait_for_message(uid)
    channel = "UC" + uuid.uuid4().hex[:22]
    youtube.state.add_channel(channel, handle=channel.lower(), published_at=created, subscribers=subscribers)
    async with unit_of_work(pool) as conn:
        user = await users.find_by_telegram_id(conn, uid)
        user = await users.set_tier(conn, user_id=user.id, tier="gold")
        account = await accounts.create_pending(
            conn, user_id=user.id, platform="youtube", handle=channel.lower(), verification_code="ZM-ABCDEFGH"
        )
        await accounts.mark_verified(conn, account_id=account.id, external_id=channel)
    video_id = uuid.uuid4().hex[:11]
    youtube.state.add_video(video_id, views=100, channel_id=channel)
    return uid, user, f"https://www.youtube.com/watch?v={video_id}"


async def test_account_rules_set_in_the_dialogue_judge_creators_videos(e2e_bot, worker, sandbox, fakes, pool):
    youtube = fakes[0]
    chat = Chat(sandbox)
    name = f"Grown-ups {uuid.uuid4().hex[:6]}"
    menu = await chat.says("/admin_campaigns", "Campaigns")
    await chat.presses(menu, "acn", "step 1 of 10")
    await chat.says(name, "RUB per 1,000 views")
    await chat.says("100", "Platforms it takes")
    await chat.says("youtube", "Hashtags or mentions")
    await chat.says("-", "Views before a video earns")
    await chat.says("1.5", "“1.5” is not a whole number.")  # not read as 15
    await chat.says("0", "Most one video earns")
    ask = await chat.says("-", "Minimum age of the creator's account in days")
    assert "Only YouTube shows when an account was created" in ask.text
    for garbage, told in (
        ("thirty", "“thirty” is not a whole number."),
        ("2.5", "“2.5” is not a whole number."),
        ("-7", "“-7” is negative."),
        ("99999", "at most 3650"),
    ):
        await chat.says(garbage, told)  # told what is wrong; the step waits for the value
    ask = await chat.says("30", "Minimum followers of the creator's account")
    assert "YouTube subscribers, TikTok and Instagram followers" in ask.text
    await chat.says("1,5", "“1,5” is not a whole number.")
    await chat.says("5000000000", "at most 1000000000")
    await chat.says("1 000", "Start date")
    await chat.says("-", "End date")
    summary = await chat.says("-", "Create this campaign as a draft?")
    assert (
        "Account age: at least 30 days (checked on YouTube only) · followers: at least 1,000 "
        "(YouTube subscribers, TikTok and Instagram followers)"
    ) in summary.text
    await chat.presses(summary, _confirm(summary), "created as a draft")
    card = await chat.next(name)
    assert "Account age: at least 30 days" in card.text and "followers: at least 1,000" in card.text
    (campaign,) = await _named(pool, name)
    assert (campaign.min_views, campaign.min_account_age_days, campaign.min_followers) == (0, 30, 1_000)
    async with pool.connection() as conn:
        (created,) = await audit.list_for_target(conn, target_type="campaign", target_id=campaign.id)
    assert created.action == "campaign.create"
    assert (created.details["min_account_age_days"], created.details["min_followers"]) == (30, 1_000)

    # funded and opened, three creators join and each sends a video of their channel
    async with unit_of_work(pool) as conn:
        await campaigns.fund(conn, campaign_id=campaign.id, amount=Decimal(1000), idempotency_key=f"fund:{campaign.id}")
        await campaigns.set_status(conn, campaign_id=campaign.id, status=CampaignStatus.OPEN)
    recent = (datetime.now(timezone.utc) - timedelta(days=10)).strftime("%Y-%m-%dT%H:%M:%SZ")
    creators = {
        "young": await _creator(sandbox, pool, youtube, created=recent, subscribers=50_000),
        "small": await _creator(sandbox, pool, youtube, created="2015-06-01T10:00:00Z", subscribers=999),
        "fine": await _creator(sandbox, pool, youtube, created="2015-06-01T10:00:00Z", subscribers=1_000),
    }
    links = {who: link for who, (_, _, link) in creators.items()}
    for uid, user, link in creators.values():
        async with unit_of_work(pool) as conn:
            await campaigns.join(conn, campaign_id=campaign.id, user_id=user.id)
        sandbox.state.user_sends_text(uid, link)
        await sandbox.state.wait_for_message(uid, contains=f"Campaign: “{name}”.")
    young = await sandbox.state.wait_for_message(creators["young"][0], contains="was not submitted", timeout=30)
    assert young.text == (
        f"The campaign “{name}” takes videos from accounts at least 30 days old; yours is 10 days old on the "
        f"platform, so {links['young']} was not submitted."
    )
    small = await sandbox.state.wait_for_message(creators["small"][0], contains="was not submitted", timeout=30)
    assert small.text == (
        f"The campaign “{name}” takes videos from accounts with at least 1,000 followers; yours has 999 on the "
        f"platform, so {links['small']} was not submitted."
    )

    async def stored():
        async with pool.connection() as conn:
            return await fetch_all(conn, "SELECT user_id FROM videos WHERE campaign_id = %s", (campaign.id,))

    assert [row["user_id"] for row in await wait_until(stored, timeout=30)] == [creators["fine"][1].id]


async def test_editing_the_account_rules_is_audited_and_shown(bot, sandbox, pool):
    chat = Chat(sandbox)
    name = f"Editable {uuid.uuid4().hex[:6]}"
    summary = await _dialogue(chat, sandbox, name, age="-", followers="-")
    assert "Account age: no rule (checked on YouTube only) · followers: no rule" in summary.text
    await chat.presses(summary, _confirm(summary), "created as a draft")
    card = await chat.next(name)
    (campaign,) = await _named(pool, name)
    assert (campaign.min_account_age_days, campaign.min_followers) == (None, None)

    fields = await chat.presses(card, f"ac:edit:{campaign.id}", "What to change")
    assert f"ace:min_account_age_days:{campaign.id}" in fields.callback_data()
    await chat.presses(fields, f"ace:min_account_age_days:{campaign.id}", "Only YouTube shows")
    await chat.says("1.5", "“1.5” is not a whole number.")
    await chat.says("90", "Min account age changed")
    card = await chat.next(name)
    assert "Account age: at least 90 days" in card.text
    fields = await chat.presses(card, f"ac:edit:{campaign.id}", "What to change")
    await chat.presses(fields, f"ace:min_followers:{campaign.id}", "Send the new value")
    await chat.says("-3", "“-3” is negative.")
    await chat.says("250000", "Min followers changed")
    card = await chat.next(name)
    assert "Account age: at least 90 days" in card.text and "followers: at least 250,000" in card.text

    async with pool.connection() as conn:
        edited = await campaigns.get(conn, campaign.id)
        entries = await audit.list_for_target(conn, target_type="campaign", target_id=campaign.id)
    assert (edited.min_account_age_days, edited.min_followers) == (90, 250_000)
    edits = sorted((e.details["field"], e.details["value"]) for e in entries if e.action == "campaign.edit")
    assert edits == [("min_account_age_days", 90), ("min_followers", 250_000)]
    assert all(e.admin_id == ADMIN_ID for e in entries)


def _press(state, message, data: str) -> dict:
    """A press of ``data`` on ``message`` as Telegram would deliver it, not queued for polling:
    the test hands it to the dispatcher itself (the sandbox still takes its answer)."""
    query_id = str(secrets.randbits(63))
    state.callback_answers[query_id] = None
    state.callback_chats[query_id] = ADMIN_ID
    query = {
        "id": query_id,
        "from": state.chats[ADMIN_ID].user.as_user(),
        "message": state.message_object(message),
        "chat_instance": "1",
        "data": data,
    }
    return {"update_id": secrets.randbits(40), "callback_query": query}


@contextlib.contextmanager
def reading_together(storage, readers: int):
    """Each of ``readers`` handlers that reads its dialogue's data waits (up to 2 s) until
    all have read it: two updates racing, each having seen the dialogue before either
    acts on it -- the window a double tap falls into on a busy bot, made certain."""
    barrier = asyncio.Barrier(readers)
    original = storage.get_data

    async def get_data(key):
        data = await original(key)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(barrier.wait(), 2)
        return data

    storage.get_data = get_data
    try:
        yield
    finally:
        del storage.get_data


async def test_two_presses_of_create_at_once_create_one_draft(bot, sandbox, pool):
    chat = Chat(sandbox)
    name = f"Pressed twice {uuid.uuid4().hex[:6]}"
    summary = await _dialogue(chat, sandbox, name)
    press = _confirm(summary)
    updates = [_press(sandbox.state, summary, press) for _ in range(2)]
    with reading_together(bot.dispatcher.fsm.storage, readers=2):
        await asyncio.gather(*(bot.dispatcher.feed_raw_update(bot.bot, update) for update in updates))

    answers = [await sandbox.state.wait_for_callback_answer(update["callback_query"]["id"]) for update in updates]
    found = await _named(pool, name)
    assert len(found) == 1, f"{len(found)} drafts from one dialogue"
    (campaign,) = found
    assert sorted(str(answer["text"]) for answer in answers) == sorted(
        ["None", f"Campaign #{campaign.id} was already created by this confirmation; nothing new was created."]
    )
    await chat.next(f"Campaign #{campaign.id} created as a draft")
    # a press after the dialogue ended (a redelivery, a late tap) says the same
    late = sandbox.state.user_sends_callback(ADMIN_ID, summary.message_id, press)
    answer = await sandbox.state.wait_for_callback_answer(late["callback_query"]["id"])
    assert (
        answer["text"] == f"Campaign #{campaign.id} was already created by this confirmation; nothing new was created."
    )
    await asyncio.sleep(0.3)
    assert len(await _named(pool, name)) == 1
    async with pool.connection() as conn:
        entries = await audit.list_for_target(conn, target_type="campaign", target_id=campaign.id)
    assert [entry.action for entry in entries] == ["campaign.create"]
    assert (campaign.min_account_age_days, campaign.min_followers) == (30, 1_000)
