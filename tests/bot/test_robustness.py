"""Faults around the bot: Bot API 429 / dropped connections / 5xx, a stalled database, a crash."""

from __future__ import annotations

import asyncio
import logging
import time
from decimal import Decimal

import psycopg
import pytest
from aiogram import Bot
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer
from aiogram.exceptions import TelegramRetryAfter, TelegramServerError

from tests.bot.conftest import new_telegram_id
from tests.fast_retries import fast
from zenith.config import ConfigError
from zenith.platforms.retrying import TELEGRAM
from zenith.platforms.telegram import RetryRequestMiddleware


def _sends(state, chat_id: int) -> int:
    return sum(1 for m in state.messages_for(chat_id) if m.from_bot)


@pytest.mark.parametrize("kind", ["429", "drop", "500", "502"])
async def test_reply_survives_one_bot_api_fault(bot, sandbox, kind):
    uid = new_telegram_id()
    sandbox.state.user_sends_text(uid, "/start", language_code="en")
    await sandbox.state.wait_for_message(uid, contains="Hi")
    sandbox.state.faults.fail_next("sendMessage", kind=kind, retry_after=1)
    started = time.monotonic()
    sandbox.state.user_sends_text(uid, "/help")
    await sandbox.state.wait_for_message(uid, contains="Help")
    elapsed = time.monotonic() - started
    assert sandbox.state.faults.pending() == 0
    assert _sends(sandbox.state, uid) == 2  # the welcome and one help: the retry did not double it
    if kind == "429":
        assert elapsed >= 1.0  # Telegram's retry_after was honoured, not hammered


@pytest.fixture
async def raw_bot(sandbox):
    """A Bot on the sandbox with a fast-back-off retry middleware (no dispatcher)."""
    bot = Bot(token=sandbox.token, session=AiohttpSession(api=TelegramAPIServer.from_base(sandbox.url)))
    bot.session.middleware(RetryRequestMiddleware(fast(TELEGRAM, max_retry_after=5)))
    yield bot
    await bot.session.close()


async def test_retry_gives_up_after_its_attempts_and_on_long_flood_waits(raw_bot, sandbox):
    uid = new_telegram_id()
    sandbox.state.add_user(uid, first_name="R")
    sandbox.state.faults.fail_next("sendMessage", kind="500", times=4)
    with pytest.raises(TelegramServerError):
        await raw_bot.send_message(uid, "never")
    assert sandbox.state.faults.pending() == 0 and sandbox.state.messages_for(uid) == []
    # a flood wait longer than max_retry_after is raised at once instead of hanging the handler
    sandbox.state.faults.fail_next("sendMessage", kind="429", retry_after=60)
    started = time.monotonic()
    with pytest.raises(TelegramRetryAfter):
        await raw_bot.send_message(uid, "later")
    assert time.monotonic() - started < 2
    # three failures in a row still deliver on the fourth attempt
    sandbox.state.faults.fail_next("sendMessage", kind="drop", times=3)
    await raw_bot.send_message(uid, "finally")
    assert [m.text for m in sandbox.state.messages_for(uid)] == ["finally"]


async def test_stalled_database_gets_a_polite_busy_answer_within_the_deadline(
    make_bot, make_settings, bot_env, sandbox, pool, database_url
):
    bot = await make_bot(settings=make_settings(**bot_env, DATABASE_DEADLINE_SECONDS="1"))
    assert bot.services.db_timeout == 1.0
    uid = new_telegram_id()
    sandbox.state.user_sends_text(uid, "/start", first_name="Ann", language_code="en")
    await sandbox.state.wait_for_message(uid, contains="Hi")
    # another connection holds the user's row: the sender's new name cannot be written
    async with await psycopg.AsyncConnection.connect(database_url) as blocker:
        await blocker.execute("SELECT 1 FROM users WHERE telegram_id = %s FOR UPDATE", (uid,))
        started = time.monotonic()
        sandbox.state.user_sends_text(uid, "/balance", first_name="Anna")
        busy = await sandbox.state.wait_for_message(uid, timeout=5)
        elapsed = time.monotonic() - started
        assert "busy" in busy.text
        assert elapsed < 2.5, elapsed
        # a button press in the same state gets the answer as an alert
        update = sandbox.state.user_sends_callback(uid, busy.message_id, "lang:en")
        answer = await sandbox.state.wait_for_callback_answer(update["callback_query"]["id"], timeout=5)
        assert "busy" in answer["text"] and answer["show_alert"]
        await blocker.rollback()
    # the lock is gone: the same request now works, the pool was not left broken
    sandbox.state.user_sends_text(uid, "/balance", first_name="Anna")
    await sandbox.state.wait_for_message(uid, contains="Available")


def test_the_database_deadline_is_a_positive_number_of_seconds(make_settings):
    assert make_settings(DATABASE_DEADLINE_SECONDS="2.5").database_deadline_seconds == Decimal("2.5")
    assert make_settings().database_deadline_seconds == Decimal("5")
    for bad in ("0", "-1", "soon", "inf"):
        with pytest.raises(ConfigError, match="DATABASE_DEADLINE_SECONDS"):
            make_settings(DATABASE_DEADLINE_SECONDS=bad)


async def test_unexpected_error_is_logged_with_context_and_the_user_gets_a_polite_message(
    bot, sandbox, monkeypatch, caplog
):
    from zenith.storage import creator_stats

    def broken(*args, **kwargs):
        raise RuntimeError("ledger exploded")

    monkeypatch.setattr(creator_stats, "stats_from_row", broken)  # inside the /balance read
    uid = new_telegram_id()
    with caplog.at_level(logging.ERROR, logger="zenith.bot.handlers.errors"):
        update = sandbox.state.user_sends_text(uid, "/balance", language_code="ru")
        reply = await sandbox.state.wait_for_message(uid)
        await asyncio.sleep(0)
    assert "Что-то пошло не так" in reply.text and "ledger exploded" not in reply.text
    (record,) = [r for r in caplog.records if r.name == "zenith.bot.handlers.errors"]
    assert record.update_id == update["update_id"] and record.update_type == "message"
    assert record.exc_info and isinstance(record.exc_info[1], RuntimeError)
