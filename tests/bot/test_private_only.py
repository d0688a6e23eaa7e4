"""The bot works in private chats only.

The sandbox simulates private chats only, so updates from a group are built by hand (as
Telegram sends them) and fed to the running bot's dispatcher; the group is registered in
the sandbox as a chat id the bot may address, so a reply to it is seen there.
"""

from __future__ import annotations

import itertools
import random
import secrets
import time
from decimal import Decimal

from tests.bot.conftest import ADMIN_ID, new_telegram_id, queued
from tests.bot.test_money_and_admin import _creator
from zenith.storage import payouts, users
from zenith.storage.db import unit_of_work

_update_ids = itertools.count(random.randrange(10**8, 9 * 10**8))


def _group(chat_id: int) -> dict:
    return {"id": chat_id, "type": "supergroup", "title": "Creators lounge"}


def _sender(user_id: int, language: str) -> dict:
    return {"id": user_id, "is_bot": False, "first_name": "Group member", "language_code": language}


def _group_message(chat_id: int, user_id: int, text: str, *, language: str = "en") -> dict:
    return {
        "update_id": next(_update_ids),
        "message": {
            "message_id": random.randrange(1, 10**6),
            "date": int(time.time()),
            "chat": _group(chat_id),
            "from": _sender(user_id, language),
            "text": text,
        },
    }


def _group_callback(chat_id: int, user_id: int, data: str) -> dict:
    bot_message = {
        "message_id": 7,
        "date": int(time.time()),
        "chat": _group(chat_id),
        "from": {"id": 1, "is_bot": True, "first_name": "Zenith"},
        "text": "card",
    }
    query_id = str(secrets.randbits(63))
    return {
        "update_id": next(_update_ids),
        "callback_query": {
            "id": query_id,
            "from": _sender(user_id, "en"),
            "message": bot_message,
            "chat_instance": "1",
            "data": data,
        },
    }


def _new_group(sandbox) -> int:
    group_id = -(10**12) - new_telegram_id()
    sandbox.state.add_user(group_id)  # a chat id the sandbox accepts sendMessage for
    return group_id


async def test_group_messages_get_one_pointer_to_the_private_chat_and_do_nothing(bot, sandbox, pool, redis, namespace):
    group_id, member = _new_group(sandbox), new_telegram_id()
    for text in ("/start", "https://youtu.be/dQw4w9WgXcQ", "/balance"):
        await bot.dispatcher.feed_raw_update(bot.bot, _group_message(group_id, member, text))
    replies = sandbox.state.messages_for(group_id)
    assert [m.text for m in replies] == ["I work only in a private chat. Write to @zenith_sandbox_bot and press Start."]
    assert replies[0].reply_markup is None  # no main menu keyboard in a group
    async with pool.connection() as conn:
        assert await users.find_by_telegram_id(conn, member) is None  # nobody registered from a group
    assert await queued(redis, namespace, "submission") == []


async def test_group_pointer_is_in_the_senders_language(bot, sandbox):
    group_id = _new_group(sandbox)
    await bot.dispatcher.feed_raw_update(bot.bot, _group_message(group_id, new_telegram_id(), "/start", language="ru"))
    (reply,) = sandbox.state.messages_for(group_id)
    assert reply.text == "Я работаю только в личном чате. Напишите @zenith_sandbox_bot и нажмите «Старт»."


async def test_buttons_pressed_in_a_group_are_refused_even_for_an_admin(bot, sandbox, pool, redis, namespace):
    creator = await _creator(sandbox, pool, balance="900")
    async with unit_of_work(pool) as conn:
        payout, _ = await payouts.create_requested(
            conn, user_id=creator.id, amount_rub=Decimal("600"), asset="TON", request_id=f"group:{creator.id}"
        )
    group_id = _new_group(sandbox)
    update = _group_callback(group_id, ADMIN_ID, f"ap:ok:{payout.id}")
    query_id = update["callback_query"]["id"]
    # the sandbox learns which chat the query belongs to, as for its own button presses
    sandbox.state.callback_chats[query_id] = group_id
    sandbox.state.callback_answers[query_id] = None
    await bot.dispatcher.feed_raw_update(bot.bot, update)
    answer = await sandbox.state.wait_for_callback_answer(query_id)
    assert (
        answer["text"] == "I work only in a private chat. Write to @zenith_sandbox_bot and press Start."
        and answer["show_alert"]
    )
    async with pool.connection() as conn:
        assert (await payouts.get(conn, payout.id)).status == "requested"
    assert await queued(redis, namespace, "payouts") == []
    assert sandbox.state.messages_for(group_id) == []
