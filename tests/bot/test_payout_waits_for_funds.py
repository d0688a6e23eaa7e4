"""The app's Crypto Pay wallet is empty: a withdrawal is delayed, not refused, and paid once funded.

The fake Crypto Pay answers ``transfer`` as the real API does when the app balance is
short (HTTP 400, ``{"ok": false, "error": {"code": 400, "name": "INSUFFICIENT_FUNDS"}}``).
"""

from __future__ import annotations

from decimal import Decimal

from tests.bot.conftest import ADMIN_ID, drain, new_telegram_id, wait_until
from zenith.messaging.contract import PROCESS_PAYOUT, REFRESH_RATES, send
from zenith.storage import ledger, payouts, rates, users
from zenith.storage.db import unit_of_work
from zenith.storage.ledger_check import check_ledger


async def _register(state, uid: int, language: str) -> None:
    state.user_sends_text(uid, "/start", first_name="Creator", language_code=language)
    await state.wait_for_message(uid, contains="Hi" if language == "en" else "Привет")


async def _payout(pool, user_id: int) -> payouts.Payout:
    async with pool.connection() as conn:
        (payout,) = await payouts.list_for_user(conn, user_id=user_id)
    return payout


async def test_empty_wallet_delays_the_payout_alerts_admins_once_and_pays_once_funded(
    e2e_bot, worker, sandbox, fakes, pool
):
    _, _, cryptopay = fakes
    state = sandbox.state
    uid = new_telegram_id()
    await _register(state, uid, "en")
    await _register(state, ADMIN_ID, "en")
    async with unit_of_work(pool) as conn:
        user = await users.find_by_telegram_id(conn, uid)
        await users.set_tier(conn, user_id=user.id, tier="gold")
        await ledger.credit_earning(conn, user_id=user.id, amount=Decimal("1300"), idempotency_key=f"test:funds:{uid}")
    cryptopay.state.known_users.add(uid)
    cryptopay.state.balances["USDT"] = Decimal("0")
    send(REFRESH_RATES, broker=worker.broker)

    async def has_rate():
        async with pool.connection() as conn:
            return await rates.latest(conn, source="USDT")

    await wait_until(has_rate, timeout=20)
    admin_seen = len(state.messages_for(ADMIN_ID))
    admin_seen_id = state.messages_for(ADMIN_ID)[-1].message_id

    state.user_sends_text(uid, "/withdraw")
    choose = await state.wait_for_message(uid, contains="Which currency")
    state.user_presses_button(uid, choose.message_id, "wa:USDT")
    await state.wait_for_message(uid, contains="How many RUB")
    state.user_sends_text(uid, "1 000")
    quote = await state.wait_for_message(uid, contains="Please confirm")
    state.user_presses_button(uid, quote.message_id, [d for d in quote.callback_data() if d.startswith("wc:")][0])
    delayed = await state.wait_for_message(uid, contains="is delayed", after=quote.message_id, timeout=30)
    assert "not cancelled" in delayed.text and "1,000.00 RUB" in delayed.text
    alert = await state.wait_for_message(ADMIN_ID, contains="wallet is short of USDT", after=admin_seen_id, timeout=30)
    assert "INSUFFICIENT_FUNDS" in alert.text

    payout = await _payout(pool, user.id)
    assert f"#{payout.id}" in delayed.text and f"payout #{payout.id}" in alert.text
    assert payout.status == "approved" and payout.funds_wait_since is not None and payout.failure_reason is None
    async with pool.connection() as conn:
        balances = await ledger.balances(conn, user.id)
        assert await check_ledger(conn) == []
    assert (balances.available, balances.reserved) == (Decimal("300.00"), Decimal("1000.00"))
    assert cryptopay.state.transfers_for(payout.spend_id) == []

    # redeliveries while the wallet is still empty (what the clock's nudge sends): getBalance only,
    # no transfer, no new notice. (The clock's tick itself is not run here: it would nudge the
    # payouts of every other test sharing this database.)
    transfer_calls = sum(1 for method, _ in cryptopay.state.calls if method == "transfer")
    for _ in range(2):
        send(PROCESS_PAYOUT, payout.id, broker=worker.broker)
    await drain(worker, "payouts", "notifications")
    assert sum(1 for method, _ in cryptopay.state.calls if method == "getBalance") >= 2
    assert sum(1 for method, _ in cryptopay.state.calls if method == "transfer") == transfer_calls
    assert (await _payout(pool, user.id)).status == "approved"

    # funded: the next delivery sees the balance and pays, with the same spend_id, once
    cryptopay.state.balances["USDT"] = Decimal("500")
    for _ in range(2):
        send(PROCESS_PAYOUT, payout.id, broker=worker.broker)
    await state.wait_for_message(
        uid, contains="✅ Payout #", after=delayed.message_id, predicate=lambda m: "sent:" in m.content, timeout=30
    )
    await drain(worker, "payouts", "notifications")
    paid = await _payout(pool, user.id)
    assert paid.status == "paid" and paid.funds_wait_since is None
    assert len(cryptopay.state.transfers_for(payout.spend_id)) == 1
    async with pool.connection() as conn:
        balances = await ledger.balances(conn, user.id)
        assert await check_ledger(conn) == []
    assert (balances.available, balances.reserved, balances.paid_out) == (
        Decimal("300.00"),
        Decimal("0.00"),
        Decimal("1000.00"),
    )
    # one delay notice to the creator, one alert to the admin, whatever was redelivered
    assert sum("is delayed" in m.text for m in state.messages_for(uid)) == 1
    assert sum("wallet is short" in m.text for m in state.messages_for(ADMIN_ID)[admin_seen:]) == 1
    assert not any("failed" in m.text for m in state.messages_for(uid))
