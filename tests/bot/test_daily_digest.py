"""The daily earnings digest: what each video earned since the last one, once per creator and day.

Driven as creators meet it: one creator gets the digest in the bot (real notifications
actor, sandbox Bot API), another turns it off from the language menu and gets none;
running the clock's duty again the same day sends nothing; the next day's digest starts
where the last one ended.
"""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta, timezone
from decimal import Decimal

from tests.bot.conftest import drain, new_telegram_id
from zenith.actors.digest import send_daily_digests
from zenith.actors.runtime import Runtime
from zenith.storage import digests, ledger, users
from zenith.storage.db import fetch_all, fetch_one, unit_of_work


async def _creator(state, pool, language: str) -> users.User:
    uid = new_telegram_id()
    state.user_sends_text(uid, "/start", first_name="Digest", language_code=language)
    await state.wait_for_message(uid, contains="Hi" if language == "en" else "Привет")
    async with pool.connection() as conn:
        return await users.find_by_telegram_id(conn, uid)


async def _video_with_credits(pool, user: users.User, *amounts: str) -> str:
    external = uuid.uuid4().hex[:11]
    url = f"https://www.youtube.com/watch?v={external}"
    async with unit_of_work(pool) as conn:
        row = await fetch_one(
            conn,
            "INSERT INTO videos (platform, external_id, user_id, url, status, views) VALUES ('youtube', %s, %s, %s, 'approved', 0) RETURNING id",
            (external, user.id, url),
        )
        for amount in amounts:
            await ledger.credit_earning(
                conn,
                user_id=user.id,
                amount=Decimal(amount),
                idempotency_key=f"test:digest:{uuid.uuid4().hex}",
                video_id=row["id"],
            )
    return url


def _digests_for(state, user: users.User) -> list:
    return [
        m
        for m in state.messages_for(user.telegram_id)
        if "Daily digest" in m.text or "Ежедневная сводка" in m.text and "вкл" not in m.text
    ]


async def test_daily_digest_lists_each_videos_earnings_once_a_day_and_can_be_turned_off(
    e2e_bot, worker, sandbox, pool, make_settings, e2e_env
):
    state = sandbox.state
    creator = await _creator(state, pool, "en")
    quiet = await _creator(state, pool, "ru")

    # the second creator turns the digest off in the language menu
    state.user_sends_text(quiet.telegram_id, "🌐 Язык")
    menu = await state.wait_for_message(quiet.telegram_id, contains="Выберите язык")
    assert "dg:off" in menu.callback_data()
    state.user_presses_button(quiet.telegram_id, menu.message_id, "dg:off")
    await state.wait_for_message(quiet.telegram_id, contains="Ежедневная сводка начислений выключена")
    async with pool.connection() as conn:
        assert await digests.is_enabled(conn, user_id=quiet.id) is False
        assert await digests.is_enabled(conn, user_id=creator.id) is True

    first = await _video_with_credits(pool, creator, "325.00", "100.00")
    second = await _video_with_credits(pool, creator, "50.00")
    await _video_with_credits(pool, quiet, "70.00")

    settings = make_settings(**{**e2e_env, "EARNINGS_DIGEST_HOUR_UTC": "0"})
    runtime = Runtime(settings, broker=worker.broker, database_url=settings.database_url, redis_url=settings.redis_url)
    now = datetime.now(timezone.utc) + timedelta(minutes=2)  # past the settle margin of the credits above
    try:
        assert await send_daily_digests(runtime, now) >= 1
        digest = await state.wait_for_message(creator.telegram_id, contains="Daily digest", timeout=30)
        text = digest.text
        assert f"+425.00 RUB · {first}" in text and f"+50.00 RUB · {second}" in text
        assert text.index(first) < text.index(second)  # the bigger earner first
        assert "In all: +475.00 RUB" in text

        # the same day again (a second clock, the next tick): nothing new, even with the Redis mark lost
        redis = await runtime.redis()
        await redis.delete(runtime.key("clock", "digests-done", now.date().isoformat()))
        # an hour later, or the day's last second when the hour would cross midnight (run near
        # midnight UTC, "an hour later" is tomorrow, and its empty tick would close tomorrow)
        later_today = min(now + timedelta(hours=1), now.replace(hour=23, minute=59, second=59))
        await send_daily_digests(runtime, later_today)
        await drain(worker, "notifications")

        # the next day: only what was credited since
        later = await _video_with_credits(pool, creator, "12.50")
        tomorrow = now + timedelta(days=1, minutes=2)
        await send_daily_digests(runtime, tomorrow)
        await state.wait_for_message(creator.telegram_id, contains="Daily digest", after=digest.message_id, timeout=30)
        await drain(worker, "notifications")
    finally:
        await runtime.close()

    sent = _digests_for(state, creator)
    assert len(sent) == 2
    assert (
        f"+12.50 RUB · {later}" in sent[1].text and first not in sent[1].text and "In all: +12.50 RUB" in sent[1].text
    )
    assert not any("Всего: +" in m.text for m in state.messages_for(quiet.telegram_id))
    async with pool.connection() as conn:
        rows = await fetch_all(
            conn,
            "SELECT user_id, day FROM earnings_digests WHERE user_id = ANY(%s) ORDER BY day",
            ([creator.id, quiet.id],),
        )
    assert [(row["user_id"], row["day"]) for row in rows] == [(creator.id, now.date()), (creator.id, tomorrow.date())]


async def test_the_switch_turns_the_digest_back_on_in_english(bot, sandbox, pool):
    state = sandbox.state
    creator = await _creator(state, pool, "en")
    async with pool.connection() as conn:
        await digests.set_enabled(conn, user_id=creator.id, enabled=False)
    state.user_sends_text(creator.telegram_id, "/language")
    menu = await state.wait_for_message(creator.telegram_id, contains="Choose your language")
    assert "Daily digest: off" in str(menu.reply_markup)
    state.user_presses_button(creator.telegram_id, menu.message_id, "dg:on")
    await state.wait_for_message(creator.telegram_id, contains="The daily earnings digest is on")
    async with pool.connection() as conn:
        assert await digests.is_enabled(conn, user_id=creator.id) is True
