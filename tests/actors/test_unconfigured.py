"""Missing outside-service configuration (the `zenith up` defaults) is a state, not an
error: no Crypto Pay token -> rates are not refreshed (one warning), payouts wait in
'approved' and the creator is told once; no YouTube key -> the creator is told YouTube
checks are not configured. Nothing is retried or re-sent."""

from __future__ import annotations

import asyncio
import logging
import uuid
from decimal import Decimal

import redis

from tests.actors.conftest import eventually, new_channel_id, new_youtube_id
from zenith.actors import rates
from zenith.messaging.contract import PROCESS_PAYOUT, REFRESH_RATES, SUBMIT_VIDEO, VERIFY_ACCOUNT, send
from zenith.storage import accounts, ledger, payouts
from zenith.storage.db import fetch_all, unit_of_work


def _pending_messages(redis_url: str, namespace: str) -> dict[str, int]:
    """Messages enqueued, delayed (a retry or a re-send) or dead-lettered in the namespace."""
    client = redis.Redis.from_url(redis_url)
    try:
        found = {key.decode(): client.hlen(key) for key in client.scan_iter(match=f"{namespace}:*.msgs")}
        found.update({key.decode(): client.zcard(key) for key in client.scan_iter(match=f"{namespace}:*.XQ")})
        return {key: count for key, count in found.items() if count}
    finally:
        client.close()


async def _settled(worker) -> None:
    """Wait until the worker has nothing in progress."""
    await eventually(
        lambda: (
            not any(consumer.delay_queue.qsize() for consumer in worker.consumers.values())
            and worker.work_queue.unfinished_tasks == 0
        ),
        what="the worker idle",
    )
    await asyncio.sleep(0.5)


async def test_refresh_rates_without_a_token_warns_once_and_is_not_retried(
    running_worker, redis_url, cleanup_namespace, monkeypatch, caplog
):
    monkeypatch.setattr(rates, "_told_not_configured", False)
    caplog.set_level(logging.INFO, logger="zenith.actors.rates")
    async with running_worker(CRYPTO_PAY_TOKEN="", modules=("zenith.actors.rates",)) as worker:
        for _ in range(3):
            send(REFRESH_RATES, broker=worker.broker)
        await eventually(lambda: not _pending_messages(redis_url, cleanup_namespace), what="every refresh acknowledged")
        await _settled(worker)
    warnings = [r for r in caplog.records if r.name == "zenith.actors.rates" and r.levelno >= logging.WARNING]
    assert [r.getMessage() for r in warnings] == [
        "CRYPTO_PAY_TOKEN is not set: exchange rates are not refreshed and payouts wait in 'approved' until it is configured"
    ]
    assert _pending_messages(redis_url, cleanup_namespace) == {}


async def test_a_payout_without_a_token_stays_approved_and_the_creator_is_told_once(
    running_worker, sandbox, make_user, pool, redis_url, cleanup_namespace, caplog
):
    state, _ = sandbox
    user = await make_user(tier="gold", language="en")
    state.add_user(user.telegram_id)
    async with unit_of_work(pool) as conn:
        await ledger.adjust(
            conn,
            user_id=user.id,
            amount=Decimal("924.50"),
            idempotency_key=f"test:{uuid.uuid4().hex}",
            memo="test balance",
        )
        payout, _ = await payouts.create_requested(
            conn, user_id=user.id, amount_rub=Decimal("924.50"), asset="USDT", request_id=uuid.uuid4().hex
        )
    caplog.set_level(logging.INFO, logger="zenith.actors.payouts")
    async with running_worker(CRYPTO_PAY_TOKEN="") as worker:
        for _ in range(2):  # delivered twice (the clock re-sends held payouts)
            send(PROCESS_PAYOUT, payout.id, broker=worker.broker)
        message = await state.wait_for_message(user.telegram_id, contains="temporarily unavailable", timeout=20)
        await eventually(lambda: not _pending_messages(redis_url, cleanup_namespace), what="nothing re-sent")
        await _settled(worker)
    assert message.text == (
        f"⏸ Payouts are temporarily unavailable. Payout #{payout.id} for 924.50 RUB is approved and will be sent "
        "as soon as they are back; the money stays reserved for it."
    )
    assert len(state.messages_for(user.telegram_id)) == 1
    async with pool.connection() as conn:
        assert (await payouts.get(conn, payout.id)).status == "approved"
        rows = await fetch_all(conn, "SELECT kind FROM ledger_transfers WHERE payout_id = %s", (payout.id,))
    assert [row["kind"] for row in rows] == ["reserve"]  # still reserved, nothing paid or refunded
    held = [
        r.getMessage()
        for r in caplog.records
        if r.name == "zenith.actors.payouts" and "CRYPTO_PAY_TOKEN is not set" in r.getMessage()
    ]
    assert (
        held
        and held[0]
        == f"payout {payout.id} held in 'approved': CRYPTO_PAY_TOKEN is not set, payouts are off until it is configured"
    )
    assert _pending_messages(redis_url, cleanup_namespace) == {}


async def test_a_youtube_link_without_an_api_key_is_answered_not_configured(
    running_worker, sandbox, make_user, make_verified_account, pool, redis_url, cleanup_namespace
):
    state, _ = sandbox
    user = await make_user(tier="gold", language="en")
    state.add_user(user.telegram_id)
    await make_verified_account(user, "youtube", new_channel_id())
    link = f"https://youtu.be/{new_youtube_id()}"
    async with running_worker(YOUTUBE_API_KEY="") as worker:
        send(SUBMIT_VIDEO, user.id, link, uuid.uuid4().hex, broker=worker.broker)
        message = await state.wait_for_message(user.telegram_id, contains="not configured", timeout=20)
        await eventually(lambda: not _pending_messages(redis_url, cleanup_namespace), what="nothing retried")
        await _settled(worker)
    assert (
        message.text
        == f"⚙️ YouTube checks are not configured yet, so {link} cannot be checked now. Please send the link again later."
    )
    assert len(state.messages_for(user.telegram_id)) == 1
    async with pool.connection() as conn:
        assert await fetch_all(conn, "SELECT id FROM videos WHERE user_id = %s", (user.id,)) == []


async def test_a_youtube_account_check_without_an_api_key_is_answered_not_configured(
    running_worker, sandbox, make_user, pool, redis_url, cleanup_namespace
):
    state, _ = sandbox
    user = await make_user(language="ru")
    state.add_user(user.telegram_id)
    async with pool.connection() as conn:
        account = await accounts.create_pending(
            conn,
            user_id=user.id,
            platform="youtube",
            handle=f"chan{uuid.uuid4().hex[:8]}",
            verification_code="ZM-ABCDEFGH",
            external_id=new_channel_id(),
        )
    async with running_worker(YOUTUBE_API_KEY="") as worker:
        send(VERIFY_ACCOUNT, account.id, broker=worker.broker)
        message = await state.wait_for_message(user.telegram_id, contains="не настроена", timeout=20)
        await eventually(lambda: not _pending_messages(redis_url, cleanup_namespace), what="nothing retried")
    assert (
        message.text
        == f"⚙️ Проверка YouTube ещё не настроена, поэтому @{account.handle} сейчас не проверить. Нажмите «Проверить» ещё раз позже."
    )
    async with pool.connection() as conn:
        assert (await accounts.get(conn, account.id)).state == "pending"
