"""The notifications actor against the Telegram Bot API sandbox, with a real worker."""

from __future__ import annotations

import asyncio
import logging
import time

import redis.asyncio as aioredis

from tests.actors.conftest import eventually
from zenith.actors.telegram_limits import TelegramLimits, TelegramRateLimiter
from zenith.messaging.contract import BROADCAST, NOTIFY, send
from zenith.storage import users

NOTIFY_ONLY = ("zenith.actors.notifications",)


async def test_notify_renders_in_the_users_language_and_dedup_makes_a_resend_a_no_op(
    running_worker, sandbox, make_user
):
    state, _ = sandbox
    user = await make_user(language="en")
    state.add_user(user.telegram_id)
    async with running_worker(modules=NOTIFY_ONLY) as worker:
        for _ in range(2):
            send(
                NOTIFY,
                user.id,
                "notify.video.credited",
                {"amount": "12.5", "url": "https://youtu.be/x", "views": 15300},
                "credit:1",
                None,
                broker=worker.broker,
            )
        await eventually(lambda: state.messages_for(user.telegram_id), what="a message")
        await asyncio.sleep(1.0)
    messages = state.messages_for(user.telegram_id)
    assert [m.text for m in messages] == ["💰 +12.50 RUB for https://youtu.be/x (15,300 views)"]


async def test_a_429_is_retried_after_retry_after_without_counting_a_failure(running_worker, sandbox, make_user):
    state, _ = sandbox
    user = await make_user(language="ru")
    state.add_user(user.telegram_id)
    state.faults.fail_next("sendMessage", kind="429", retry_after=1, times=2)
    async with running_worker(modules=NOTIFY_ONLY) as worker:
        started = time.monotonic()
        send(NOTIFY, user.id, "notify.user.unbanned", {}, "unban:1", None, broker=worker.broker)
        await eventually(lambda: state.messages_for(user.telegram_id), timeout=20, what="the message after two 429s")
        elapsed = time.monotonic() - started
    assert elapsed >= 2.0  # two retry_after=1 waits
    assert len(state.messages_for(user.telegram_id)) == 1


async def test_a_user_who_blocked_the_bot_is_marked_inactive_and_not_retried(running_worker, sandbox, make_user, pool):
    state, _ = sandbox
    user = await make_user()
    state.add_user(user.telegram_id).blocked = True
    async with running_worker(modules=NOTIFY_ONLY) as worker:
        send(NOTIFY, user.id, "notify.user.unbanned", {}, None, None, broker=worker.broker)

        async def inactive():
            async with pool.connection() as conn:
                return (await users.get(conn, user.id)).status == "inactive"

        await eventually(inactive, what="user marked inactive")
        calls_after = len(state.calls)
        await asyncio.sleep(1.5)
    assert len(state.calls) == calls_after  # no further attempts
    assert state.messages_for(user.telegram_id) == []


async def test_broadcast_reaches_each_active_user_once_even_when_sent_twice(running_worker, sandbox, make_user, pool):
    state, _ = sandbox
    active = [await make_user() for _ in range(3)]
    blocked = await make_user(status="inactive")
    for user in [*active, blocked]:
        state.add_user(user.telegram_id)
    async with running_worker(threads=4, modules=NOTIFY_ONLY) as worker:
        send(BROADCAST, "b-test", "Hello <all>", broker=worker.broker)
        send(BROADCAST, "b-test", "Hello <all>", broker=worker.broker)
        for user in active:
            await eventually(lambda u=user: state.messages_for(u.telegram_id), what="broadcast delivered")
        await asyncio.sleep(1.5)
    for user in active:
        assert [m.text for m in state.messages_for(user.telegram_id)] == ["Hello <all>"]
    assert state.messages_for(blocked.telegram_id) == []


async def test_rate_limiter_spaces_one_chat_and_caps_the_total(redis_url, cleanup_namespace):
    client = aioredis.Redis.from_url(redis_url, decode_responses=True)
    try:
        limiter = TelegramRateLimiter(
            client, prefix=cleanup_namespace, limits=TelegramLimits(per_second=10, burst=5, chat_interval_ms=1000)
        )
        assert await limiter.try_acquire(1) == 0
        assert 0 < await limiter.try_acquire(1) <= 1000  # same chat within a second
        granted = [await limiter.try_acquire(chat) for chat in range(2, 8)]
        assert granted[:4] == [0, 0, 0, 0]  # the bucket held 5, chat 1 took one
        assert 0 < granted[4] <= 100  # then one token per 100 ms
        await asyncio.sleep(0.25)
        assert await limiter.try_acquire(99) == 0
    finally:
        await client.aclose()


async def test_an_oversized_text_arrives_as_several_messages_cut_at_lines(running_worker, sandbox, make_user):
    state, _ = sandbox
    user = await make_user(language="en")
    state.add_user(user.telegram_id)
    reason = "\n".join(f"reason line {i:03d} " + "z" * 60 for i in range(120))  # about 9,400 characters
    async with running_worker(modules=NOTIFY_ONLY) as worker:
        for _ in range(2):  # delivered twice: each part still arrives once
            send(
                NOTIFY,
                user.id,
                "notify.video.rejected",
                {"url": "https://youtu.be/x", "reason": reason},
                "rejected:long",
                None,
                broker=worker.broker,
            )
        await eventually(lambda: len(state.messages_for(user.telegram_id)) >= 3, timeout=20, what="three parts")
        await asyncio.sleep(1.5)
    texts = [m.text for m in state.messages_for(user.telegram_id)]
    assert len(texts) == 3 and all(len(t) <= 4096 for t in texts)
    assert texts[0].startswith("✖️ Video rejected: https://youtu.be/x")
    assert "\n".join(texts).endswith("reason line 119 " + "z" * 60)
    assert all(line.startswith(("✖️", "Reason:", "reason line")) for t in texts for line in t.split("\n"))


async def test_a_refusal_reason_is_rendered_from_its_key_in_the_users_language(running_worker, sandbox, make_user):
    state, _ = sandbox
    user = await make_user(language="ru")
    state.add_user(user.telegram_id)
    params = {"payout_id": 7, "amount": "1000.00", "asset": "USDT", "reason_key": "payout.reason.user_not_found"}
    async with running_worker(modules=NOTIFY_ONLY) as worker:
        send(NOTIFY, user.id, "notify.payout.failed", params, "payout:7:failed", None, broker=worker.broker)
        message = await eventually(lambda: state.messages_for(user.telegram_id), what="the notice")
    assert message[0].text.startswith(
        "Выплата №7 не прошла: вы ещё не открывали @CryptoBot; откройте его и запросите выплату снова. 1"
    )
    assert message[0].text.endswith("000,00 ₽ вернулись на баланс.")


async def test_a_bot_api_5xx_is_retried_inside_the_delivery_and_sent_once(running_worker, sandbox, make_user, caplog):
    state, _ = sandbox
    user = await make_user(language="ru")
    state.add_user(user.telegram_id)
    state.faults.fail_next("sendMessage", kind="500", times=2)
    caplog.set_level(logging.INFO)
    async with running_worker(modules=NOTIFY_ONLY) as worker:
        send(NOTIFY, user.id, "notify.user.unbanned", {}, "unban:5xx", None, broker=worker.broker)
        await eventually(lambda: state.messages_for(user.telegram_id), timeout=20, what="the message after two 5xx")
        await asyncio.sleep(0.5)
    assert len(state.messages_for(user.telegram_id)) == 1 and state.faults.pending() == 0
    retried = [r for r in caplog.records if r.name == "zenith.platforms.retrying" and "sendMessage" in r.message]
    assert len(retried) == 2  # by the Telegram policy of the worker's Bot, not by a redelivery
    assert not [r for r in caplog.records if r.name.startswith("dramatiq") and "Retrying message" in r.message]
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]
