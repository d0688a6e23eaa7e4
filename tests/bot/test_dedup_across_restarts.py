"""Update de-duplication across restarts of either side.

A restarted sandbox (or Telegram starting a new id sequence) hands out update ids the
bot has already remembered in Redis: the new messages must be answered. A real second
delivery of an update is still dropped, also by a restarted bot.
"""

from __future__ import annotations

import asyncio
import socket

from tests.bot.conftest import new_telegram_id
from zenith.sandbox.runner import start_sandbox


def _help_replies(state, uid: int) -> int:
    return sum("Help" in (m.text or "") for m in state.messages_for(uid))


async def test_fresh_sandbox_reusing_update_ids_is_answered_and_duplicates_are_dropped(
    make_bot, bot_settings, sandbox, redis, namespace
):
    first_bot = await make_bot()
    uid = new_telegram_id()
    sent = []
    for _ in range(3):
        sent.append(sandbox.state.user_sends_text(uid, "/help", language_code="en"))
        await sandbox.state.wait_for_message(uid, contains="Help")
    await asyncio.sleep(0.3)
    assert _help_replies(sandbox.state, uid) == 3
    remembered = [f"{namespace}:bot:update:{first_bot.bot.id}:{u['update_id']}" for u in sent]
    assert await redis.exists(*remembered) == 3

    # The sandbox restarts with fresh state: it numbers updates from the start again,
    # while Redis still remembers those ids as handled.
    async with start_sandbox() as fresh:
        bot = await make_bot(settings=bot_settings.replace(telegram_api_url=fresh.url))
        other = new_telegram_id()
        again = []
        for expected in range(1, 4):
            again.append(fresh.state.user_sends_text(other, "/help", language_code="en"))
            await fresh.state.wait_for_message(other, contains="Help", timeout=15)
            assert _help_replies(fresh.state, other) == expected
        assert [u["update_id"] for u in again] == [u["update_id"] for u in sent]  # the very same ids

        # Telegram delivers one of them again (lost answer, polling restart): dropped.
        await bot.dispatcher.feed_raw_update(bot.bot, again[0])
        await bot.dispatcher.feed_raw_update(bot.bot, again[2])
        await asyncio.sleep(0.5)
        assert _help_replies(fresh.state, other) == 3


async def test_bot_polling_through_a_sandbox_restart_gets_the_new_updates(make_bot, bot_settings, tmp_path):
    # The bot keeps polling with an offset above every id it has seen; a sandbox that kept
    # no state would number below it and those updates would be confirmed away unseen.
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    uid = new_telegram_id()
    async with start_sandbox(port=port, state_dir=tmp_path) as first:
        await make_bot(settings=bot_settings.replace(telegram_api_url=first.url))
        for _ in range(3):
            first.state.user_sends_text(uid, "/help", language_code="en")
            await first.state.wait_for_message(uid, contains="Help")
        last_id = first.state.updates.next_update_id - 1
    async with start_sandbox(port=port, state_dir=tmp_path) as second:
        update = second.state.user_sends_text(uid, "/help", language_code="en")
        assert update["update_id"] > last_id
        await second.state.wait_for_message(uid, contains="Help", timeout=20)
