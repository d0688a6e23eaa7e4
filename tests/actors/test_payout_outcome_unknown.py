"""An ambiguous Crypto Pay answer with no transfer listed yet is an expected state:
one WARNING line, no ERROR, and the retry pays exactly once."""

from __future__ import annotations

import asyncio
import logging
import uuid
from datetime import datetime, timezone
from decimal import Decimal

from tests.actors.conftest import eventually
from zenith.messaging.contract import PROCESS_PAYOUT, REFRESH_RATES, send
from zenith.storage import ledger, payouts
from zenith.storage import rates as rate_store
from zenith.storage.db import unit_of_work


async def _status(pool, payout_id: int) -> str:
    async with pool.connection() as conn:
        return (await payouts.get(conn, payout_id)).status


async def test_unknown_transfer_outcome_is_a_warning_and_the_retry_pays_once(
    running_worker, fake_cryptopay, make_user, pool, caplog
):
    user = await make_user(tier="gold")
    fake_cryptopay.state.known_users.add(user.telegram_id)
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
    with caplog.at_level(logging.INFO):
        async with running_worker() as worker:
            refreshing_since = datetime.now(timezone.utc)
            send(REFRESH_RATES, broker=worker.broker)

            async def rates_stored():
                # this refresh's rates (the database is shared: older ones may be there)
                async with pool.connection() as conn:
                    latest = await rate_store.latest(conn, source="USDT")
                return latest is not None and latest.fetched_at >= refreshing_since

            # this fake answered the refresh (a rate stored by an earlier test of the session
            # would satisfy rates_stored at once, and the refresh still in flight would then
            # take the scripted 500 meant for the transfer)
            await eventually(
                lambda: any(method == "getExchangeRates" for method, _ in fake_cryptopay.state.calls),
                what="rates fetched",
            )
            await eventually(rates_stored, what="rates refreshed")
            await asyncio.sleep(0.5)  # the refresh stores its rates after the call
            # the transfer call fails with HTTP 500 before Crypto Pay did anything: nobody
            # can tell whether it paid until getTransfers is asked again later
            fake_cryptopay.state.fail_next("500")
            send(PROCESS_PAYOUT, payout.id, broker=worker.broker)
            await eventually(lambda: _status_is(pool, payout.id, "paid"), timeout=30, what="paid on the retry")
    assert len(fake_cryptopay.state.transfers_for(payout.spend_id)) == 1
    errors = [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert errors == [], [r.getMessage() for r in errors]
    unknown = [r for r in caplog.records if "transfer outcome unknown" in r.getMessage()]
    assert len(unknown) == 1 and unknown[0].levelno == logging.WARNING and unknown[0].exc_info is None
    assert any(r.name.startswith("dramatiq") and "Retrying message" in r.getMessage() for r in caplog.records)


async def _status_is(pool, payout_id: int, status: str) -> bool:
    return await _status(pool, payout_id) == status
