"""Without CRYPTO_PAY_TOKEN the clock leaves rates and payouts alone: no refresh_rates,
no process_payout re-sends for held payouts, one line at start saying payouts are paused."""

from __future__ import annotations

import asyncio
import logging
import uuid
from datetime import datetime, timezone
from decimal import Decimal

import dramatiq

from zenith.actors import clock
from zenith.actors.clock import PAYOUTS_PAUSED, STUCK_PAYOUT_AFTER, run_loop, tick
from zenith.actors.runtime import Runtime
from zenith.messaging.broker import build_broker
from zenith.storage import ledger, payouts
from zenith.storage.db import unit_of_work


def _queued(broker, queue: str) -> list[dramatiq.Message]:
    client = broker.client
    return [dramatiq.Message.decode(raw) for raw in client.hvals(f"{broker.namespace}:{queue}.msgs")]


async def _approved_payout(pool, user) -> payouts.Payout:
    async with unit_of_work(pool) as conn:
        await ledger.adjust(
            conn,
            user_id=user.id,
            amount=Decimal("700.00"),
            idempotency_key=f"test:{uuid.uuid4().hex}",
            memo="test balance",
        )
        payout, _ = await payouts.create_requested(
            conn, user_id=user.id, amount_rub=Decimal("700.00"), asset="USDT", request_id=uuid.uuid4().hex
        )
        return await payouts.transition(
            conn, payout_id=payout.id, to_status="approved", from_statuses=("requested",), decided_by=0
        )


async def test_without_a_token_ticks_send_no_rate_refresh_and_no_payout_nudge(
    make_settings, actor_env, make_user, pool, redis_url
):
    user = await make_user(tier="gold")
    held = await _approved_payout(pool, user)
    later = datetime.now(timezone.utc) + STUCK_PAYOUT_AFTER + clock.timedelta(seconds=1)
    results = {}
    for token in ("", actor_env["CRYPTO_PAY_TOKEN"]):
        settings = make_settings(**{**actor_env, "CRYPTO_PAY_TOKEN": token})
        broker = build_broker(settings, redis_url=redis_url, namespace=settings.redis_namespace)
        runtime = Runtime(settings, broker=broker, database_url=settings.database_url, redis_url=redis_url)
        try:
            ticks = [await tick(later, runtime=runtime) for _ in range(3)]
            nudged = [m.args[0] for m in _queued(broker, "payouts") if m.actor_name == "process_payout"]
            refreshes = [m for m in _queued(broker, "rates") if m.actor_name == "refresh_rates"]
            results[bool(token)] = (ticks, nudged, refreshes)
        finally:
            await runtime.close()
            broker.close()

    ticks, nudged, refreshes = results[False]
    assert all(t["rates"] == 0 and t["payouts"] == 0 for t in ticks)
    assert nudged == [] and refreshes == []
    # the same clock with a token nudges the held payout and refreshes rates
    ticks, nudged, refreshes = results[True]
    assert held.id in nudged and nudged.count(held.id) == 1
    assert len(refreshes) == 1 and ticks[0]["rates"] == 1


async def test_without_a_token_the_clock_says_once_at_start_that_payouts_are_paused(
    make_settings, actor_env, redis_url, caplog
):
    caplog.set_level(logging.INFO, logger="zenith.actors.clock")
    for token in ("", actor_env["CRYPTO_PAY_TOKEN"]):
        settings = make_settings(**{**actor_env, "CRYPTO_PAY_TOKEN": token})
        broker = build_broker(settings, redis_url=redis_url, namespace=settings.redis_namespace)
        runtime = Runtime(settings, broker=broker, database_url=settings.database_url, redis_url=redis_url)
        stop = asyncio.Event()
        try:
            loop = asyncio.create_task(run_loop(runtime, stop=stop, interval=0.05))
            await asyncio.sleep(0.6)  # several ticks
            stop.set()
            await loop
        finally:
            await runtime.close()
            broker.close()
        paused = [r for r in caplog.records if r.name == "zenith.actors.clock" and r.getMessage() == PAYOUTS_PAUSED]
        assert len(paused) == 1  # once for the unconfigured clock, none for the configured one
        assert paused[0].levelno == logging.WARNING
