"""Payouts through real workers against the fake Crypto Pay: paid once, refunded on a
definite refusal, waiting on stale rates, and exactly once across a SIGKILLed worker."""

from __future__ import annotations

import asyncio
import signal
import uuid
from datetime import datetime, timedelta, timezone
from decimal import Decimal

import pytest

from tests.actors.conftest import eventually
from zenith.actors.clock import STUCK_PAYOUT_AFTER, tick
from zenith.actors.rates import RateStale, current_rate, rub_prices
from zenith.actors.runtime import Runtime
from zenith.messaging.broker import build_broker
from zenith.messaging.contract import PROCESS_PAYOUT, REFRESH_RATES, send
from zenith.platforms.cryptopay_types import ExchangeRate
from zenith.storage import ledger, payouts
from zenith.storage import rates as rate_store
from zenith.storage.db import fetch_all, unit_of_work


async def _payout_for(pool, user, amount: str, asset: str = "USDT") -> payouts.Payout:
    async with unit_of_work(pool) as conn:
        await ledger.adjust(
            conn,
            user_id=user.id,
            amount=Decimal(amount),
            idempotency_key=f"test:{uuid.uuid4().hex}",
            memo="test balance",
        )
        payout, _ = await payouts.create_requested(
            conn, user_id=user.id, amount_rub=Decimal(amount), asset=asset, request_id=uuid.uuid4().hex
        )
    return payout


async def _status(pool, payout_id: int) -> str:
    async with pool.connection() as conn:
        return (await payouts.get(conn, payout_id)).status


async def _payout_transfers(pool, payout_id: int) -> list[tuple[str, Decimal]]:
    async with pool.connection() as conn:
        rows = await fetch_all(
            conn, "SELECT kind, amount FROM ledger_transfers WHERE payout_id = %s ORDER BY id", (payout_id,)
        )
    return [(row["kind"], row["amount"]) for row in rows]


async def _fresh_rates(worker, pool):
    send(REFRESH_RATES, broker=worker.broker)

    async def stored():
        async with pool.connection() as conn:
            return await rate_store.latest(conn, source="USDT")

    await eventually(stored, what="rates refreshed")


async def test_gold_payout_is_approved_paid_once_and_settled(running_worker, sandbox, fake_cryptopay, make_user, pool):
    state, _ = sandbox
    user = await make_user(tier="gold", language="en")
    state.add_user(user.telegram_id)
    fake_cryptopay.state.known_users.add(user.telegram_id)
    payout = await _payout_for(pool, user, "924.50")
    async with running_worker() as worker:
        await _fresh_rates(worker, pool)
        for _ in range(2):  # delivered twice
            send(PROCESS_PAYOUT, payout.id, broker=worker.broker)
        await eventually(lambda: _status_is(pool, payout.id, "paid"), what="paid")
        await eventually(lambda: len(state.messages_for(user.telegram_id)) >= 2, what="notifications")
        await asyncio.sleep(0.5)
    transfers = fake_cryptopay.state.transfers_for(payout.spend_id)
    assert len(transfers) == 1
    assert Decimal(transfers[0]["amount"]) == Decimal("10")  # 924.50 RUB at 92.45 RUB/USDT
    assert await _payout_transfers(pool, payout.id) == [("reserve", Decimal("924.50")), ("payout", Decimal("924.50"))]
    async with pool.connection() as conn:
        balances = await ledger.balances(conn, user.id)
    assert (balances.available, balances.reserved, balances.paid_out) == (
        Decimal("0.00"),
        Decimal("0.00"),
        Decimal("924.50"),
    )
    texts = [m.text for m in state.messages_for(user.telegram_id)]
    assert len(texts) == 2 and all(f"#{payout.id}" in text for text in texts)
    # two messages to one chat are a second apart and need not arrive in order
    assert any("approved" in text for text in texts) and any("10 USDT" in text and "sent" in text for text in texts)


async def _status_is(pool, payout_id: int, status: str) -> bool:
    return await _status(pool, payout_id) == status


async def test_a_user_who_never_opened_cryptobot_is_refunded_and_told_why(
    running_worker, sandbox, fake_cryptopay, make_user, pool
):
    state, _ = sandbox
    user = await make_user(tier="gold", language="en")
    state.add_user(user.telegram_id)
    payout = await _payout_for(pool, user, "1000.00")
    async with running_worker() as worker:
        await _fresh_rates(worker, pool)
        send(PROCESS_PAYOUT, payout.id, broker=worker.broker)
        await eventually(lambda: _status_is(pool, payout.id, "failed"), what="failed")
        await eventually(lambda: len(state.messages_for(user.telegram_id)) >= 2, what="notifications")
    async with pool.connection() as conn:
        failed = await payouts.get(conn, payout.id)
        balances = await ledger.balances(conn, user.id)
    assert failed.failure_reason == "USER_NOT_FOUND"
    assert (balances.available, balances.reserved) == (Decimal("1000.00"), Decimal("0.00"))
    assert fake_cryptopay.state.transfers_for(payout.spend_id) == []
    # notices to one chat are a second apart and need not arrive in order
    assert any("you have not opened @CryptoBot yet" in m.text for m in state.messages_for(user.telegram_id))


async def test_bronze_payout_waits_for_an_admin(running_worker, fake_cryptopay, make_user, pool):
    user = await make_user(tier="bronze")
    payout = await _payout_for(pool, user, "600.00")
    async with running_worker() as worker:
        send(PROCESS_PAYOUT, payout.id, broker=worker.broker)
        await asyncio.sleep(1.0)
    assert await _status(pool, payout.id) == "requested"
    assert fake_cryptopay.state.transfers == []


async def test_with_stale_rates_a_payout_waits_unchanged_and_asks_for_a_refresh(
    running_worker, fake_cryptopay, make_user, pool, make_settings, actor_env
):
    # BTC: no other test of the session stores BTC rates in the shared database
    fake_cryptopay.state.rates_valid = False  # Crypto Pay cannot give a usable rate now
    user = await make_user(tier="gold")
    fake_cryptopay.state.known_users.add(user.telegram_id)
    async with unit_of_work(pool) as conn:  # only an hour-old rate is known
        await rate_store.store(
            conn, source="BTC", rate=Decimal("6000000"), fetched_at=datetime.now(timezone.utc) - timedelta(hours=1)
        )
    payout = await _payout_for(pool, user, "900.00", asset="BTC")
    async with running_worker(PAYOUT_ASSETS="USDT,TON,BTC") as worker:
        send(PROCESS_PAYOUT, payout.id, broker=worker.broker)
        await eventually(
            lambda: any(method == "getExchangeRates" for method, _ in fake_cryptopay.state.calls), what="a refresh"
        )
        await asyncio.sleep(0.5)
        settings = make_settings(**actor_env)
        runtime = Runtime(
            settings, broker=worker.broker, database_url=settings.database_url, redis_url=settings.redis_url
        )
        try:
            with pytest.raises(RateStale):  # an hour-old rate is never used
                await current_rate(runtime, asset="BTC", max_age=timedelta(seconds=settings.rate_max_age_seconds))
        finally:
            await runtime.close()
    async with pool.connection() as conn:
        waiting = await payouts.get(conn, payout.id)
    assert waiting.status == "approved" and waiting.asset_amount is None
    assert fake_cryptopay.state.transfers == []


def test_rub_prices_take_direct_pairs_and_invert_reverse_ones():
    quotes = [
        ExchangeRate(source="USDT", target="RUB", rate=Decimal("92.45"), is_valid=True),
        ExchangeRate(source="RUB", target="TON", rate=Decimal("0.002"), is_valid=True),
        ExchangeRate(source="BTC", target="RUB", rate=Decimal("6000000"), is_valid=False),
        ExchangeRate(source="USDT", target="USD", rate=Decimal("1"), is_valid=True),
    ]
    assert rub_prices(quotes, assets=["USDT", "TON", "BTC"]) == {"USDT": Decimal("92.45"), "TON": Decimal("500")}


async def test_a_worker_killed_between_transfer_and_commit_pays_exactly_once(
    spawn, actor_env, make_settings, fake_cryptopay, make_user, pool, redis_url
):
    user = await make_user(tier="gold")
    fake_cryptopay.state.known_users.add(user.telegram_id)
    payout = await _payout_for(pool, user, "462.25")
    env = {**actor_env}
    settings = make_settings(**env)
    broker = build_broker(settings, redis_url=redis_url, namespace=settings.redis_namespace)
    runtime = Runtime(settings, broker=broker, database_url=settings.database_url, redis_url=redis_url)
    argv = ["-m", "zenith", "worker", "--queues", "payouts", "rates", "--threads", "2"]
    try:
        first = spawn(argv, env=env)
        send(REFRESH_RATES, broker=broker)
        await eventually(
            lambda: any(m == "getExchangeRates" for m, _ in fake_cryptopay.state.calls), timeout=30, what="rates"
        )
        await asyncio.sleep(0.5)
        # the fake performs the transfer, then holds its answer; the worker dies waiting
        fake_cryptopay.state.after_transfer = "delay"
        fake_cryptopay.state.delay_seconds = 30
        send(PROCESS_PAYOUT, payout.id, broker=broker)
        await eventually(lambda: fake_cryptopay.state.transfers_for(payout.spend_id), timeout=30, what="transfer made")
        first.send_signal(signal.SIGKILL)
        first.wait(timeout=10)
        assert await _status(pool, payout.id) == "sending"

        fake_cryptopay.state.after_transfer = None
        spawn(argv, env=env)
        # the clock finds the payout stuck in 'sending' and the new worker reconciles it
        await tick(datetime.now(timezone.utc) + STUCK_PAYOUT_AFTER + timedelta(seconds=1), runtime=runtime)
        await eventually(lambda: _status_is(pool, payout.id, "paid"), timeout=30, what="reconciled as paid")
    finally:
        await runtime.close()
        broker.close()
    assert len(fake_cryptopay.state.transfers_for(payout.spend_id)) == 1
    assert await _payout_transfers(pool, payout.id) == [("reserve", Decimal("462.25")), ("payout", Decimal("462.25"))]
    async with pool.connection() as conn:
        done = await payouts.get(conn, payout.id)
    assert done.provider_transfer_id == str(fake_cryptopay.state.transfers_for(payout.spend_id)[0]["transfer_id"])


async def test_a_payout_committed_paid_or_failed_by_a_worker_that_died_before_the_notice_gets_it_once(
    running_worker, sandbox, make_user, pool
):
    """The worker died between the status commit and the notice; redeliveries repeat the
    notice under its dedup key — once — and never touch the ledger again."""
    state, _ = sandbox
    user = await make_user(tier="gold", language="en")
    state.add_user(user.telegram_id)
    paid, failed = await _payout_for(pool, user, "924.50"), await _payout_for(pool, user, "500.00")
    async with pool.connection() as conn:
        for payout in (paid, failed):
            await payouts.transition(
                conn, payout_id=payout.id, to_status="approved", from_statuses=("requested",), decided_by=0
            )
        await payouts.transition(
            conn,
            payout_id=paid.id,
            to_status="sending",
            from_statuses=("approved",),
            asset_amount=Decimal("10"),
            rate=Decimal("92.45"),
            rate_fetched_at=datetime.now(timezone.utc),
        )
        await payouts.transition(
            conn,
            payout_id=paid.id,
            to_status="paid",
            from_statuses=("sending",),
            provider_transfer_id=f"t-{uuid.uuid4().hex[:12]}",
        )
        await payouts.transition(
            conn,
            payout_id=failed.id,
            to_status="failed",
            from_statuses=("approved",),
            failure_reason="AMOUNT_TOO_SMALL",
        )
    before = [await _payout_transfers(pool, p.id) for p in (paid, failed)]
    async with running_worker() as worker:
        for _ in range(2):
            for payout in (paid, failed):
                send(PROCESS_PAYOUT, payout.id, broker=worker.broker)
        await eventually(lambda: len(state.messages_for(user.telegram_id)) >= 2, what="both notices")
        await asyncio.sleep(1.5)
    texts = sorted(m.text for m in state.messages_for(user.telegram_id))
    assert len(texts) == 2
    assert any(t.startswith(f"✅ Payout #{paid.id} sent: 10 USDT") for t in texts)
    assert any(t.startswith(f"Payout #{failed.id} failed: the amount is below the payout minimum.") for t in texts)
    assert [await _payout_transfers(pool, p.id) for p in (paid, failed)] == before
    assert before == [
        [("reserve", Decimal("924.50")), ("payout", Decimal("924.50"))],
        [("reserve", Decimal("500.00")), ("release", Decimal("500.00"))],
    ]
