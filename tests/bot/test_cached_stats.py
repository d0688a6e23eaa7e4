"""/balance and /videos read through the Redis cache: never older than the last write, and alive without Redis.

The writes go through the real paths -- the parsing actor crediting a check, the bot
reserving a withdrawal, the payouts actor paying it -- and each read is a creator's
/balance or /videos through the sandbox, so a write path that forgets to invalidate
shows up as a stale figure.
"""

from __future__ import annotations

import socket
import uuid
from decimal import Decimal

from tests.bot.conftest import drain, new_telegram_id, store_rate
from tests.bot.test_end_to_end_admin import _creator, _new_video, _withdraw
from zenith.storage import ledger
from zenith.storage.db import unit_of_work


async def _balance(sandbox, uid: int) -> str:
    sandbox.state.user_sends_text(uid, "/balance")
    return (await sandbox.state.wait_for_message(uid, contains="Balance")).text


async def _videos(sandbox, uid: int) -> str:
    sandbox.state.user_sends_text(uid, "/videos")
    return (await sandbox.state.wait_for_message(uid, contains="My videos")).text


async def test_balance_and_videos_follow_every_credit_and_the_payout(e2e_bot, worker, sandbox, fakes, pool):
    youtube, _, cryptopay = fakes
    creator = await _creator(sandbox, pool, youtube, tier="gold")
    uid = creator.telegram_id
    cryptopay.state.known_users.add(uid)
    external_id = _new_video(youtube, creator, views=20_000, title="cached")

    sandbox.state.user_sends_text(uid, f"https://youtu.be/{external_id}")
    await sandbox.state.wait_for_message(uid, contains="+1,300.00 RUB", after=0, timeout=20)
    await drain(worker, "submission", "parsing", "notifications")
    first = await _balance(sandbox, uid)
    assert "Available: 1,300.00 RUB" in first and "Paid out in total: 0.00 RUB" in first
    assert "20,000" in await _videos(sandbox, uid)
    assert "Available: 1,300.00 RUB" in await _balance(sandbox, uid)  # served from the cache now

    # credit -> read: the next credit (a second video's first check) invalidates what
    # /balance and /videos cached (growth of the first video within seconds would be held
    # for review by the trust gate instead of credited)
    second = _new_video(youtube, creator, views=40_000, title="second")
    sandbox.state.user_sends_text(uid, f"https://youtu.be/{second}")
    await sandbox.state.wait_for_message(uid, contains="+2,600.00 RUB", after=0, timeout=20)
    await drain(worker, "submission", "parsing", "notifications")
    assert "Available: 3,900.00 RUB" in await _balance(sandbox, uid)
    listing = await _videos(sandbox, uid)
    assert "40,000" in listing and "20,000" in listing

    # payout -> read: the bot's reservation and the actor's settlement both invalidate
    await store_rate(pool, asset="USDT", rate="95")
    await _withdraw(sandbox, uid, amount="700")
    await sandbox.state.wait_for_message(uid, contains="✅ Payout #", after=0, timeout=20)
    await drain(worker, "payouts")
    after_payout = await _balance(sandbox, uid)
    assert "Available: 3,200.00 RUB" in after_payout
    assert "Reserved (withdrawals in progress): 0.00 RUB" in after_payout
    assert "Paid out in total: 700.00 RUB" in after_payout
    async with pool.connection() as conn:
        books = await ledger.balances(conn, creator.id)
    assert (books.available, books.reserved, books.paid_out) == (Decimal("3200.00"), Decimal("0.00"), Decimal("700.00"))


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


async def test_balance_answers_from_postgresql_while_redis_is_down(make_bot, bot_settings, sandbox, pool):
    # the bot's own Redis (dedup, throttling, dialog state, cache) is a closed port;
    # the broker the fixture passes still works, but /balance does not need it
    await make_bot(settings=bot_settings.replace(redis_url=f"redis://127.0.0.1:{_closed_port()}/0"))
    uid = new_telegram_id()
    sandbox.state.user_sends_text(uid, "/balance", language_code="en")
    assert "Available: 0.00 RUB" in (await sandbox.state.wait_for_message(uid, contains="Balance", timeout=20)).text
    async with unit_of_work(pool) as conn:
        from zenith.storage import users

        user = await users.find_by_telegram_id(conn, uid)
        await ledger.credit_earning(
            conn, user_id=user.id, amount=Decimal("812.50"), idempotency_key=f"test:{uuid.uuid4()}"
        )
    # nothing invalidated (nothing could be): the read goes to PostgreSQL and is right
    reply = await _balance(sandbox, uid)
    assert "Available: 812.50 RUB" in reply and "No transfers yet." not in reply
    sandbox.state.user_sends_text(uid, "/videos")
    await sandbox.state.wait_for_message(uid, contains="not submitted any videos")
