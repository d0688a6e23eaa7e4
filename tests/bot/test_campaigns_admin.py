"""Admins run campaigns through the bot (a real polling bot on the Bot API sandbox, real
PostgreSQL and Redis): create one in the dialogue with bad and ambiguous values on the
way, fund it with a double-tapped confirmation (funded once), open, pause and resume it
(members told through the outbox), edit a rule, read its card, close it (the unspent
budget goes back once); creators are refused every campaign button and command."""

from __future__ import annotations

import asyncio
from decimal import Decimal

from tests.bot.conftest import ADMIN_ID, new_telegram_id
from zenith.storage import audit, campaigns, ledger, users
from zenith.storage.db import fetch_all, unit_of_work

ADMIN_REFUSED = "This command is for admins only."


class Chat:
    """The admin's side of the chat: what they do and the bot's next message after it."""

    def __init__(self, sandbox) -> None:
        self.state = sandbox.state
        self.floor = 0

    async def says(self, text: str, expect: str):
        self.state.user_sends_text(ADMIN_ID, text, language_code="en")
        return await self.next(expect)

    async def presses(self, message, data: str, expect: str):
        self.state.user_presses_button(ADMIN_ID, message.message_id, data)
        return await self.next(expect)

    async def next(self, expect: str):
        found = await self.state.wait_for_message(ADMIN_ID, contains=expect, after=self.floor)
        self.floor = found.message_id
        return found


def _readings(message) -> list[str]:
    """The buttons of an ambiguous amount's readings, in order."""
    return [data for data in message.callback_data() if data.startswith("aca:")]


def _button(message, prefix: str) -> str:
    (data,) = [data for data in message.callback_data() if data.startswith(prefix)]
    return data


async def _outbox_keys(pool, campaign_id: int) -> list[str]:
    async with pool.connection() as conn:
        rows = await fetch_all(
            conn, "SELECT key FROM outbox WHERE dedup_key LIKE %s ORDER BY id", (f"campaign:{campaign_id}:%",)
        )
    return [row["key"] for row in rows]


async def test_an_admin_creates_funds_opens_pauses_resumes_edits_and_closes_a_campaign(bot, sandbox, pool):
    chat = Chat(sandbox)
    menu = await chat.says("/admin", "Admin")
    listing = await chat.presses(menu, "am:cmp", "Campaigns")
    await chat.presses(listing, "acn", "step 1 of 10")
    await chat.says("  Summer   dance ", "RUB per 1,000 views")
    await chat.says("0", "must be above zero")  # a bad value is told and asked again
    doubt = await chat.says("1,500", "Did you mean")  # 1.50 or 1,500.00: asked back, never guessed
    await chat.presses(doubt, _readings(doubt)[0], "Platforms it takes")
    await chat.says("youtube vk", "not a platform I know")
    await chat.says("YouTube tiktok", "Hashtags or mentions")
    await chat.says("#Zen @Brand", "Views before a video earns")
    await chat.says("1 000", "Most one video earns")
    await chat.says("-", "Minimum age of the creator's account")
    await chat.says("-", "Minimum followers")
    await chat.says("-", "Start date")
    await chat.says("-", "End date")
    await chat.says("31/12/2040", "is not a date")
    summary = await chat.says("31.12.2040 18:00", "Create this campaign as a draft?")
    assert "Summer dance" in summary.text and "1.50 RUB per 1,000 views" in summary.text
    assert "#zen @brand" in summary.text and "31.12.2040 18:00 UTC" in summary.text
    assert "Account age: no rule (checked on YouTube only) · followers: no rule" in summary.text
    await chat.presses(summary, _button(summary, "acf:"), "created as a draft")
    card = await chat.next("Summer dance")
    async with pool.connection() as conn:
        (campaign,) = [c for c in await campaigns.list_recent(conn, limit=50) if c.name == "Summer dance"]
    assert (campaign.status.value, campaign.rate_per_1000, campaign.min_views, campaign.cap_per_video) == (
        "draft",
        Decimal("1.50"),
        1000,
        None,
    )
    assert (sorted(campaign.platforms), campaign.required_tags) == (["tiktok", "youtube"], ["#zen", "@brand"])
    cid = campaign.id

    # opening an empty campaign is refused; funding asks back "1.500" and a double tap funds once
    await chat.presses(card, f"ac:open:{cid}", "has no money in its budget")
    ask = await chat.presses(card, f"ac:fund:{cid}", "How many RUB")
    assert ask.message_id
    doubt = await chat.says("1.500", "Did you mean")
    confirm = await chat.presses(doubt, _readings(doubt)[1], "Put 1,500.00 RUB")
    press = _button(confirm, "acf:")
    for update in (
        sandbox.state.user_presses_button(ADMIN_ID, confirm.message_id, press),
        sandbox.state.user_sends_callback(ADMIN_ID, confirm.message_id, press),  # the double tap
    ):
        await sandbox.state.wait_for_callback_answer(update["callback_query"]["id"])
    await chat.next("funded with 1,500.00 RUB")
    card = await chat.next("1,500.00 RUB left")
    async with pool.connection() as conn:
        funds = await fetch_all(
            conn, "SELECT amount FROM ledger_transfers WHERE to_account = %s", (ledger.budget_account(cid),)
        )
    assert [row["amount"] for row in funds] == [Decimal("1500.00")]

    # a creator joins; open, pause, resume: the members hear of the resume
    creator = new_telegram_id()
    async with unit_of_work(pool) as conn:
        member = await users.get_or_create(conn, telegram_id=creator, language="en")
        await campaigns.join(conn, campaign_id=cid, user_id=member.id)
    await chat.presses(card, f"ac:open:{cid}", "is open.")
    opened = await chat.next("Summer dance")
    await chat.presses(opened, f"ac:pause:{cid}", "is paused")
    card = await chat.next("Summer dance")
    await chat.presses(opened, f"ac:pause:{cid}", "so that no longer applies")  # a second Pause changes nothing
    await chat.presses(card, f"ac:resume:{cid}", "is open again")
    card = await chat.next("Summer dance")
    assert await _outbox_keys(pool, cid) == ["campaigns.admin.notice_opened", "campaigns.admin.notice_resumed"]

    # edit one rule; the others stay as they are
    async with pool.connection() as conn:
        await conn.execute("UPDATE campaigns SET min_followers = 500 WHERE id = %s", (cid,))
    fields = await chat.presses(card, f"ac:edit:{cid}", "What to change")
    await chat.presses(fields, f"ace:rate:{cid}", "Send the new value")
    await chat.says("80", "Rate changed")
    card = await chat.next("Summer dance")
    assert "80.00 RUB per 1,000 views" in card.text and "Videos: 0" in card.text
    async with pool.connection() as conn:
        edited = await campaigns.get(conn, cid)
    assert (edited.rate_per_1000, edited.min_followers, edited.min_views) == (Decimal("80.00"), 500, 1000)

    # close: confirmed once, the budget back to the funder once (a double tap too), the member told
    ask = await chat.presses(card, f"ac:close:{cid}", "1,500.00 RUB go back to the funder")
    close = _button(ask, "acf:")
    double = sandbox.state.user_sends_callback(ADMIN_ID, ask.message_id, close)  # the double tap, at once
    await chat.presses(ask, close, "1,500.00 RUB went back to the funder")
    await sandbox.state.wait_for_callback_answer(double["callback_query"]["id"])
    card = await chat.next("Budget:")
    assert "closed" in card.text and "closed by an admin" in card.text
    again = sandbox.state.user_sends_callback(ADMIN_ID, ask.message_id, close)
    assert (await sandbox.state.wait_for_callback_answer(again["callback_query"]["id"]))["text"] == (
        "This button is no longer available."
    )
    async with pool.connection() as conn:
        assert await ledger.account_balance(conn, ledger.budget_account(cid)) == Decimal("0.00")
        returned = await fetch_all(
            conn,
            "SELECT amount FROM ledger_transfers WHERE from_account = %s AND kind = 'fund_return'",
            (ledger.budget_account(cid),),
        )
        actions = [entry.action for entry in await audit.list_for_target(conn, target_type="campaign", target_id=cid)]
    assert [row["amount"] for row in returned] == [Decimal("1500.00")]
    assert sorted(actions) == sorted(
        [
            "campaign.create",
            "campaign.fund",
            "campaign.open",
            "campaign.pause",
            "campaign.resume",
            "campaign.edit",
            "campaign.close",
        ]
    )
    assert (await _outbox_keys(pool, cid))[-1] == "campaigns.admin.notice_closed"


async def test_creators_are_refused_campaign_commands_and_buttons(bot, sandbox, pool):
    uid = new_telegram_id()
    sandbox.state.user_sends_text(uid, "/start", first_name="Creator", language_code="en")
    hello = await sandbox.state.wait_for_message(uid, contains="Hi")
    sandbox.state.user_sends_text(uid, "/admin_campaigns")
    await sandbox.state.wait_for_message(uid, contains=ADMIN_REFUSED)
    for data in ("ac:close:1", "acf:0123456789ab", "acn", "ace:rate:1", "acl:0"):
        update = sandbox.state.user_sends_callback(uid, hello.message_id, data)
        answer = await sandbox.state.wait_for_callback_answer(update["callback_query"]["id"])
        assert answer["text"] == ADMIN_REFUSED
    await asyncio.sleep(0.2)
    async with pool.connection() as conn:
        assert (await campaigns.get(conn, 1)).status.value == "open"
