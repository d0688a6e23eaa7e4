"""End to end: the bot and the real actors (in-process Dramatiq worker) with local fakes.

A Gold creator registers, verifies a YouTube channel, submits a video (auto-approved),
is credited for its views, withdraws, and is paid through the fake Crypto Pay -- every
step driven through the sandbox as a Telegram user would.
"""

from __future__ import annotations

import uuid

from tests.bot.conftest import new_telegram_id, wait_until
from zenith.storage import payouts, users
from zenith.storage.db import unit_of_work


async def test_creator_verifies_submits_is_credited_withdraws_and_is_paid(e2e_bot, worker, sandbox, fakes, pool):
    youtube, _, cryptopay = fakes
    state = sandbox.state
    uid = new_telegram_id()
    channel_id = "UC" + uuid.uuid4().hex[:22]
    video_id = uuid.uuid4().hex[:11]

    state.user_sends_text(uid, "/start", first_name="Gold", language_code="en")
    await state.wait_for_message(uid, contains="Hi")
    async with unit_of_work(pool) as conn:
        user = await users.find_by_telegram_id(conn, uid)
        await users.set_tier(conn, user_id=user.id, tier="gold")
    cryptopay.state.known_users.add(uid)

    # link the channel; the code goes into its description; "Check" verifies it
    state.user_sends_text(uid, "/accounts")
    listing = await state.wait_for_message(uid, contains="No linked accounts")
    state.user_presses_button(uid, listing.message_id, "acc:add:youtube:0")
    await state.wait_for_message(uid, contains="YouTube channel")
    state.user_sends_text(uid, f"https://www.youtube.com/channel/{channel_id}")
    code_message = await state.wait_for_message(uid, contains="Verification code")
    code = code_message.text.split("\n\n")[1].strip()
    youtube.state.add_channel(channel_id, handle=f"@{channel_id.lower()}", description=f"my channel {code}")
    state.user_presses_button(uid, code_message.message_id, code_message.callback_data()[0])
    await state.wait_for_message(uid, contains="verified", after=code_message.message_id, timeout=30)

    # submit a video of that channel: Gold is auto-approved and its views are credited
    youtube.state.add_video(video_id, views=20_000, channel_id=channel_id)
    state.user_sends_text(uid, f"https://youtu.be/{video_id}")
    accepted = await state.wait_for_message(uid, contains="1 link accepted")
    assert "Link and verify an account" not in accepted.text  # the channel is verified
    await state.wait_for_message(uid, contains="+1,300.00 RUB", after=0, timeout=30)

    # withdraw once rates exist (the worker's rates actor fetches them from the fake)
    from zenith.messaging.contract import REFRESH_RATES, send

    send(REFRESH_RATES, broker=worker.broker)

    async def has_rate():
        from zenith.storage import rates

        async with pool.connection() as conn:
            return await rates.latest(conn, source="USDT")

    await wait_until(has_rate, timeout=20)
    state.user_sends_text(uid, "/withdraw")
    choose = await state.wait_for_message(uid, contains="Which currency")
    state.user_presses_button(uid, choose.message_id, "wa:USDT")
    await state.wait_for_message(uid, contains="How many RUB")
    state.user_sends_text(uid, "1 000")
    quote = await state.wait_for_message(uid, contains="Please confirm")
    state.user_presses_button(uid, quote.message_id, [d for d in quote.callback_data() if d.startswith("wc:")][0])
    await state.wait_for_message(uid, contains="without waiting for an admin")
    await state.wait_for_message(
        uid, contains="✅ Payout #", after=quote.message_id, predicate=lambda m: "sent:" in m.content, timeout=30
    )
    async with pool.connection() as conn:
        (payout,) = await payouts.list_for_user(conn, user_id=user.id)
    assert payout.status == "paid"
    assert len(cryptopay.state.transfers_for(payout.spend_id)) == 1
