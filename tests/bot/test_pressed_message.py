"""A button pressed on a message the bot can no longer edit (Telegram's InaccessibleMessage).

A press that must edit its message is answered "no longer available" before anything
changes; one that only answers in the chat still does so, with a new message.
"""

from __future__ import annotations

from decimal import Decimal

from tests.bot.conftest import ADMIN_ID, store_rate
from tests.bot.test_money_and_admin import (
    _creator,
    _video,
    _withdraw,
    database_url,  # noqa: F401 -- the admin queues on a database of their own
)
from zenith.domain.videos import VideoStatus
from zenith.storage import ledger, payouts, videos

NOT_AVAILABLE = "This button is no longer available."


async def _press_inaccessible(sandbox, uid: int, message_id: int, data: str) -> dict:
    update = sandbox.state.user_sends_callback(uid, message_id, data, inaccessible=True)
    return await sandbox.state.wait_for_callback_answer(update["callback_query"]["id"])


async def test_confirm_on_a_message_the_bot_cannot_edit_reserves_nothing(bot, sandbox, pool):
    user = await _creator(sandbox, pool, balance="2000")
    await store_rate(pool, asset="USDT", rate="100")
    quote = await _withdraw(sandbox, user.telegram_id, amount="600")
    confirm = next(data for data in quote.callback_data() if data.startswith("wc:"))
    answer = await _press_inaccessible(sandbox, user.telegram_id, quote.message_id, confirm)
    assert answer["text"] == NOT_AVAILABLE and answer["show_alert"]
    async with pool.connection() as conn:
        assert await payouts.list_for_user(conn, user_id=user.id) == []
        assert (await ledger.balances(conn, user.id)).reserved == 0
    # nothing was used up: the same quote pressed where the bot can edit it reserves once
    sandbox.state.user_presses_button(user.telegram_id, quote.message_id, confirm)
    await sandbox.state.wait_for_message(user.telegram_id, contains="Payout #", after=quote.message_id)
    async with pool.connection() as conn:
        assert [payout.amount_rub for payout in await payouts.list_for_user(conn, user_id=user.id)] == [
            Decimal("600.00")
        ]


async def test_cancel_on_a_message_the_bot_cannot_edit_still_cancels(bot, sandbox, pool):
    user = await _creator(sandbox, pool, balance="2000")
    uid = user.telegram_id
    sandbox.state.user_sends_text(uid, "💸 Withdraw")
    choose = await sandbox.state.wait_for_message(uid, contains="Which currency")
    sandbox.state.user_presses_button(uid, choose.message_id, "wa:USDT")
    asked = await sandbox.state.wait_for_message(uid, contains="How many RUB")
    answer = await _press_inaccessible(sandbox, uid, asked.message_id, "x")
    assert not answer["text"]
    await sandbox.state.wait_for_message(uid, contains="Cancelled", after=asked.message_id)
    assert sandbox.state.chats[uid].messages[asked.message_id].reply_markup  # its buttons were left alone
    # the dialog is over: an amount is no longer read as one
    sandbox.state.user_sends_text(uid, "700")
    reply = await sandbox.state.wait_for_message(uid)
    assert "I did not understand that" in reply.text


async def test_video_card_from_a_message_the_bot_cannot_edit_comes_as_a_new_message(bot, sandbox, pool):
    user = await _creator(sandbox, pool)
    video = await _video(pool, user, status=VideoStatus.APPROVED, views=1500)
    sandbox.state.user_sends_text(user.telegram_id, "/videos")
    listing = await sandbox.state.wait_for_message(user.telegram_id, contains="My videos")
    answer = await _press_inaccessible(sandbox, user.telegram_id, listing.message_id, f"v:{video.id}:0")
    assert not answer["text"]
    card = await sandbox.state.wait_for_message(user.telegram_id, contains=video.url, after=listing.message_id)
    assert "Views: 1,500" in card.text


async def test_approval_on_a_card_the_bot_cannot_edit_waits(bot, sandbox, pool):
    creator = await _creator(sandbox, pool)
    video = await _video(pool, creator)
    sandbox.state.user_sends_text(ADMIN_ID, "/moderation", language_code="en")
    card = await sandbox.state.wait_for_message(ADMIN_ID, contains=f"#{video.id}", after=0)
    answer = await _press_inaccessible(sandbox, ADMIN_ID, card.message_id, f"av:ok:{video.id}")
    assert answer["text"] == NOT_AVAILABLE
    async with pool.connection() as conn:
        assert (await videos.get(conn, video.id)).status == VideoStatus.PENDING_MODERATION
    sandbox.state.user_presses_button(ADMIN_ID, card.message_id, f"av:ok:{video.id}")
    await sandbox.state.wait_for_message(ADMIN_ID, contains=f"Video #{video.id} approved")
    async with pool.connection() as conn:
        assert (await videos.get(conn, video.id)).status == VideoStatus.APPROVED
