"""A message to the bot marks its sender seen (what active_users counts), at most once an hour."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

from tests.bot.conftest import new_telegram_id
from zenith.storage import users


async def test_writing_to_the_bot_marks_the_creator_seen_once_an_hour(bot, sandbox, pool):
    uid = new_telegram_id()
    before = datetime.now(timezone.utc)
    sandbox.state.user_sends_text(uid, "/help", language_code="en")
    await sandbox.state.wait_for_message(uid, contains="Help")
    async with pool.connection() as conn:
        first = (await users.find_by_telegram_id(conn, uid)).last_seen_at
    assert first is not None and first >= before - timedelta(seconds=1)

    sandbox.state.user_sends_text(uid, "/tier")
    await sandbox.state.wait_for_message(uid, contains="Bronze")
    async with pool.connection() as conn:
        assert (await users.find_by_telegram_id(conn, uid)).last_seen_at == first  # within the hour: no write
        user = await users.find_by_telegram_id(conn, uid)
        await conn.execute("UPDATE users SET last_seen_at = %s WHERE id = %s", (first - timedelta(hours=2), user.id))
    # two hours passing, for the bot too: the mark alone is not announced (0197), and the
    # row the bot keeps carries the mark it read, which those two hours would have aged
    bot.services.user_rows.drop(uid)
    sandbox.state.user_sends_text(uid, "/help")
    await sandbox.state.wait_for_message(uid, contains="Help")
    async with pool.connection() as conn:
        assert (await users.find_by_telegram_id(conn, uid)).last_seen_at > first
