"""Senders' users rows kept in the bot process: served without a database read, dropped on
PostgreSQL's announcement of any change (whoever made it), never served while unannounced."""

from __future__ import annotations

import asyncio
import logging
from datetime import datetime, timezone

import psycopg
import pytest

from tests.bot.conftest import new_telegram_id, until_row_dropped
from zenith.bot.contacts import SenderReads
from zenith.bot.user_rows import UserRows
from zenith.domain.users import UserStatus
from zenith.storage import users
from zenith.storage.user_changes import APPLICATION_NAME


async def _until(predicate, *, timeout: float = 10.0, what: str) -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while not predicate():
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.01)


@pytest.fixture
def reads(monkeypatch):
    """Counts the sender rows the bot reads from PostgreSQL (each sender of a burst's read)."""
    counted: list[int] = []
    original = SenderReads.run_batch

    async def counting(self, items):
        counted.extend(item.telegram_id for item in items)
        return await original(self, items)

    monkeypatch.setattr(SenderReads, "run_batch", counting)
    return counted


async def _known_sender(bot, sandbox) -> tuple[UserRows, int]:
    """A creator who wrote once, while the bot listens for changes: (the bot's rows, their id)."""
    rows = bot.services.user_rows
    await _until(lambda: rows.listening, what="the bot listening for users changes")
    uid = new_telegram_id()
    sandbox.state.user_sends_text(uid, "/help", language_code="en")
    await sandbox.state.wait_for_message(uid, contains="Help")
    return rows, uid


async def test_a_known_sender_is_answered_without_reading_their_row(bot, sandbox, reads):
    rows = bot.services.user_rows
    await _until(lambda: rows.listening, what="the bot listening for users changes")
    uid = new_telegram_id()
    for _ in range(3):
        sandbox.state.user_sends_text(uid, "/help", language_code="en")
        await sandbox.state.wait_for_message(uid, contains="Help")
    assert reads.count(uid) == 1  # the first update registered them; the next two were served from memory
    assert rows.get(uid) is not None and rows.get(uid).language == "en"


async def test_a_ban_made_outside_the_bot_is_obeyed_on_the_next_message(bot, sandbox, database_url, reads):
    rows, uid = await _known_sender(bot, sandbox)
    assert rows.get(uid) is not None
    # as an operator in psql would: no code of ours runs, only the trigger announces it
    async with await psycopg.AsyncConnection.connect(database_url, autocommit=True) as conn:
        await conn.execute("UPDATE users SET status = 'banned' WHERE telegram_id = %s", (uid,))
    await until_row_dropped(bot, uid)
    sandbox.state.user_sends_text(uid, "https://www.youtube.com/watch?v=dQw4w9WgXcQ")
    refused = await sandbox.state.wait_for_message(uid, contains="blocked")
    assert "Your account is blocked" in refused.text
    assert rows.get(uid) is not None and rows.get(uid).status is UserStatus.BANNED  # the fresh row is kept
    assert reads.count(uid) == 2


async def test_a_change_made_in_the_bot_process_drops_the_row_at_once(bot, sandbox, pool):
    rows, uid = await _known_sender(bot, sandbox)
    async with pool.connection() as conn:
        user = await users.find_by_telegram_id(conn, uid)
        await users.set_language(conn, user_id=user.id, language="ru")
        assert rows.get(uid) is None  # before the commit and its announcement
    sandbox.state.user_sends_text(uid, "/help")
    await sandbox.state.wait_for_message(uid, contains="Помощь")


async def test_rows_are_not_served_while_the_announcements_are_lost(bot, sandbox, database_url, caplog, reads):
    rows, uid = await _known_sender(bot, sandbox)
    assert rows.get(uid) is not None

    caplog.set_level(logging.INFO, logger="zenith.bot.user_rows")
    async with await psycopg.AsyncConnection.connect(database_url, autocommit=True) as admin:
        killed = await (
            await admin.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
                " WHERE application_name = %s AND datname = current_database()",
                (APPLICATION_NAME,),
            )
        ).fetchall()
        assert killed == [(True,)]
        await _until(lambda: not rows.listening, what="the bot noticing the lost connection")
        # changed while nobody listens: no announcement will ever come for it
        await admin.execute("UPDATE users SET language = 'ru' WHERE telegram_id = %s", (uid,))
    assert rows.get(uid) is None
    await _until(lambda: rows.listening, what="the bot listening again")
    sandbox.state.user_sends_text(uid, "/help")
    await sandbox.state.wait_for_message(uid, contains="Помощь")
    lost = [r for r in caplog.records if getattr(r, "event", None) == "user_rows_unlistened"]
    back = [r for r in caplog.records if getattr(r, "event", None) == "user_rows_listened"]
    assert len(lost) == 1 and lost[0].levelno == logging.WARNING and len(back) == 1
    assert reads.count(uid) == 2


async def test_without_kept_rows_every_update_reads_its_sender(make_bot, bot_settings, sandbox, reads):
    runtime = await make_bot(settings=bot_settings.replace(bot_user_rows=0))
    assert runtime.services.user_rows is None
    uid = new_telegram_id()
    for _ in range(2):
        sandbox.state.user_sends_text(uid, "/help", language_code="en")
        await sandbox.state.wait_for_message(uid, contains="Help")
    assert reads.count(uid) == 2


# ----------------------------------------------------------------- the store itself


def _user(telegram_id: int, language: str = "en") -> users.User:
    now = datetime.now(timezone.utc)
    return users.User(
        id=telegram_id,
        telegram_id=telegram_id,
        username=None,
        first_name=None,
        language=language,
        tier="bronze",
        status="active",
        created_at=now,
        updated_at=now,
        last_seen_at=now,
    )


def _listening(**kwargs) -> UserRows:
    rows = UserRows("postgresql://unused", **kwargs)
    rows._start_serving()  # as when LISTEN is in place
    return rows


def test_a_row_read_before_a_drop_is_not_kept():
    rows = _listening()
    read_at = rows.generation
    rows.drop(99)  # some row changed while this one was being read: it may have been this one
    assert rows.keep(_user(1), read_at=read_at) is False and rows.get(1) is None
    assert rows.keep(_user(1), read_at=rows.generation) is True and rows.get(1) is not None


def test_nothing_is_kept_or_served_before_listening():
    rows = UserRows("postgresql://unused")
    assert rows.keep(_user(1), read_at=rows.generation) is False
    rows._start_serving()
    assert rows.keep(_user(1), read_at=rows.generation) is True
    rows._stop_serving()
    assert rows.get(1) is None


def test_least_recently_used_rows_go_first_and_old_rows_expire():
    now = [0.0]
    rows = _listening(max_rows=2, max_age=60.0, clock=lambda: now[0])
    for telegram_id in (1, 2):
        rows.keep(_user(telegram_id), read_at=rows.generation)
    assert rows.get(1) is not None  # 1 is now the most recently used
    rows.keep(_user(3), read_at=rows.generation)
    assert rows.get(2) is None and rows.get(1) is not None and rows.get(3) is not None
    now[0] = 61.0
    assert rows.get(1) is None and rows.get(3) is None


def test_bot_user_rows_must_not_be_negative(make_settings):
    from zenith.config import ConfigError

    with pytest.raises(ConfigError, match="BOT_USER_ROWS"):
        make_settings(BOT_USER_ROWS="-1")
