"""A platform failing longer than its client's own retries absorb is a passing failure:
the message is retried (honouring Retry-After) with one WARNING line and no ERROR."""

from __future__ import annotations

import logging

from tests.actors.conftest import eventually
from zenith.messaging.contract import REFRESH_RATES, send
from zenith.platforms.retrying import CRYPTO_PAY
from zenith.storage import rates as rate_store


async def test_crypto_pay_429s_beyond_the_client_retries_are_retried_without_an_error(
    running_worker, fake_cryptopay, pool, caplog
):
    # Retry-After: 1; every call of the first delivery's policy fails, and the second delivery's first
    fake_cryptopay.state.fail_next("429", times=CRYPTO_PAY.attempts + 1)
    before = len(fake_cryptopay.state.calls)

    async def rates_stored():
        async with pool.connection() as conn:
            latest = await rate_store.latest(conn, source="TON")
        return (
            latest
            if latest is not None
            and any(m == "getExchangeRates" for m, _ in fake_cryptopay.state.calls[before:])
            and not fake_cryptopay.state.failures
            else None
        )

    with caplog.at_level(logging.INFO):
        async with running_worker() as worker:
            send(REFRESH_RATES, broker=worker.broker)
            await eventually(rates_stored, timeout=40, what="rates stored once the 429s passed")
    assert fake_cryptopay.state.failures == []
    errors = [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert errors == [], [r.getMessage() for r in errors]
    passing = [r for r in caplog.records if r.name == "zenith.actors.passing_failures"]
    assert passing and all(r.levelno == logging.WARNING and r.exc_info is None for r in passing)
    assert (
        passing[0].getMessage().startswith("refresh_rates: TransientError")
        and "retried in 1000 ms" in passing[0].getMessage()
    )
    assert any(r.name.startswith("dramatiq") and "Retrying message" in r.getMessage() for r in caplog.records)
