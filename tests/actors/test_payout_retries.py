"""A transfer Crypto Pay refused before doing anything (429) is sent again by the client's
retry policy, always with the payout's spend_id, and the payout is paid and settled once,
also when the message is delivered twice."""

from __future__ import annotations

import asyncio
import logging
from decimal import Decimal

from tests.actors.conftest import eventually
from tests.actors.test_payouts import _payout_for, _payout_transfers, _status_is
from zenith.messaging.contract import PROCESS_PAYOUT, REFRESH_RATES, send
from zenith.platforms.retrying import CRYPTO_PAY
from zenith.storage import ledger
from zenith.storage import rates as rate_store


async def test_flood_controlled_transfer_is_retried_with_its_spend_id_and_pays_once(
    running_worker, fake_cryptopay, make_user, pool, caplog
):
    user = await make_user(tier="gold")
    fake_cryptopay.state.known_users.add(user.telegram_id)
    payout = await _payout_for(pool, user, "924.50")
    caplog.set_level(logging.INFO)
    async with running_worker() as worker:
        send(REFRESH_RATES, broker=worker.broker)
        await eventually(
            lambda: any(method == "getExchangeRates" for method, _ in fake_cryptopay.state.calls), what="rates fetched"
        )

        async def rates_stored():
            async with pool.connection() as conn:
                return await rate_store.latest(conn, source="USDT")

        await eventually(rates_stored, what="rates stored")
        await asyncio.sleep(0.5)  # the refresh stores its rates after the call
        # Retry-After: 1 each; within one delivery's budget
        fake_cryptopay.state.fail_next("429", times=CRYPTO_PAY.attempts - 1)
        for _ in range(2):  # delivered twice
            send(PROCESS_PAYOUT, payout.id, broker=worker.broker)
        await eventually(lambda: _status_is(pool, payout.id, "paid"), timeout=30, what="paid")
        await asyncio.sleep(1.5)  # the other delivery finishes too
    assert fake_cryptopay.state.failures == []
    # retried inside the delivery, not by a redelivery of the message
    retries = [r for r in caplog.records if r.name == "zenith.platforms.retrying" and "cryptopay transfer" in r.message]
    assert retries and not [r for r in caplog.records if r.name == "zenith.actors.passing_failures"]
    sent = [params for method, params in fake_cryptopay.state.calls if method == "transfer"]
    assert len(sent) >= CRYPTO_PAY.attempts - 1
    assert {params["spend_id"] for params in sent} == {payout.spend_id}
    assert len(fake_cryptopay.state.transfers_for(payout.spend_id)) == 1
    assert fake_cryptopay.state.paid_total(user.telegram_id, "USDT") == Decimal("10")
    assert await _payout_transfers(pool, payout.id) == [("reserve", Decimal("924.50")), ("payout", Decimal("924.50"))]
    async with pool.connection() as conn:
        balances = await ledger.balances(conn, user.id)
    assert (balances.available, balances.reserved, balances.paid_out) == (
        Decimal("0.00"),
        Decimal("0.00"),
        Decimal("924.50"),
    )
