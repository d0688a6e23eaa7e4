"""Payouts with their ledger effects, exchange rates, audit log."""

from __future__ import annotations

import asyncio
import uuid
from datetime import datetime, timedelta, timezone
from decimal import Decimal

import pytest

from zenith.storage import audit, ledger, payouts, rates
from zenith.storage.db import connect, unit_of_work
from zenith.storage.ledger_check import check_ledger
from zenith.storage.users import get_or_create

D = Decimal


async def _funded_user(pool, make_user, amount: str):
    user = await make_user()
    async with unit_of_work(pool) as conn:
        await ledger.credit_earning(conn, user_id=user.id, amount=D(amount), idempotency_key=f"fund:{user.id}")
    return user


async def test_request_reserves_and_replays(pool, make_user):
    user = await _funded_user(pool, make_user, "1000.00")
    async with unit_of_work(pool) as conn:
        payout, created = await payouts.create_requested(
            conn, user_id=user.id, amount_rub=D("600.00"), asset="USDT", request_id=f"r{user.id}"
        )
    async with unit_of_work(pool) as conn:
        again, created_again = await payouts.create_requested(
            conn, user_id=user.id, amount_rub=D("600.00"), asset="USDT", request_id=f"r{user.id}"
        )
    assert created and not created_again and again.id == payout.id
    assert payout.spend_id == f"zenith-payout-{payout.id}" and payout.status == "requested"
    with pytest.raises(ledger.InsufficientFunds):
        async with unit_of_work(pool) as conn:
            await payouts.create_requested(conn, user_id=user.id, amount_rub=D("600.00"), asset="USDT")
    async with pool.connection() as conn:
        assert await ledger.balances(conn, user.id) == ledger.UserBalances(D("400.00"), D("600.00"), D("0.00"))
        assert [p.id for p in await payouts.list_for_user(conn, user_id=user.id)] == [payout.id]


async def test_concurrent_requests_never_overdraw(pool, make_user):
    user = await _funded_user(pool, make_user, "1000.00")

    async def request(i):
        try:
            async with unit_of_work(pool) as conn:
                await payouts.create_requested(
                    conn, user_id=user.id, amount_rub=D("300.00"), asset="TON", request_id=f"c{user.id}-{i}"
                )
            return True
        except ledger.InsufficientFunds:
            return False

    results = await asyncio.gather(*[request(i) for i in range(6)])
    assert results.count(True) == 3
    async with pool.connection() as conn:
        assert (await ledger.balances(conn, user.id)).reserved == D("900.00")


async def test_state_machine_moves_money_with_the_status(pool, make_user):
    user = await _funded_user(pool, make_user, "2000.00")
    async with unit_of_work(pool) as conn:
        paid, _ = await payouts.create_requested(conn, user_id=user.id, amount_rub=D("500.00"), asset="USDT")
        failed, _ = await payouts.create_requested(conn, user_id=user.id, amount_rub=D("700.00"), asset="USDT")
        rejected, _ = await payouts.create_requested(conn, user_id=user.id, amount_rub=D("800.00"), asset="USDT")
    now = datetime.now(timezone.utc)
    async with unit_of_work(pool) as conn:
        approved = await payouts.transition(conn, payout_id=paid.id, to_status="approved", decided_by=42)
        assert approved.decided_by == 42 and approved.decided_at is not None
        assert await payouts.transition(conn, payout_id=paid.id, to_status="approved") is None  # double click
        sending = await payouts.transition(
            conn,
            payout_id=paid.id,
            to_status="sending",
            asset_amount=D("5.123456"),
            rate=D("97.6"),
            rate_fetched_at=now,
        )
        assert sending.attempts == 1 and sending.asset_amount == D("5.123456")
        done = await payouts.transition(conn, payout_id=paid.id, to_status="paid", provider_transfer_id="tr-1")
        assert done.status == "paid"
        await payouts.transition(conn, payout_id=failed.id, to_status="approved")
        await payouts.transition(conn, payout_id=failed.id, to_status="sending")
        await payouts.transition(conn, payout_id=failed.id, to_status="failed", failure_reason="INSUFFICIENT_FUNDS")
        await payouts.transition(
            conn, payout_id=rejected.id, to_status="rejected", decided_by=42, decision_reason="fraud"
        )
        with pytest.raises(payouts.InvalidTransition):
            await payouts.transition(conn, payout_id=paid.id, to_status="sending", from_statuses=("paid",))
        with pytest.raises(payouts.InvalidTransition):
            await payouts.transition(conn, payout_id=paid.id, to_status="requested")
    async with pool.connection() as conn:
        assert await ledger.balances(conn, user.id) == ledger.UserBalances(D("1500.00"), D("0.00"), D("500.00"))
        kinds = [t.kind for t in await ledger.history(conn, user.id)]
        assert sorted(kinds) == ["earning", "payout", "release", "release", "reserve", "reserve", "reserve"]


async def test_stuck_sending_and_list_by_status(pool, make_user):
    user = await _funded_user(pool, make_user, "600.00")
    async with unit_of_work(pool) as conn:
        payout, _ = await payouts.create_requested(conn, user_id=user.id, amount_rub=D("600.00"), asset="USDT")
        await payouts.transition(conn, payout_id=payout.id, to_status="approved")
        await payouts.transition(conn, payout_id=payout.id, to_status="sending")
    async with pool.connection() as conn:
        assert payout.id not in [
            p.id
            for p in await payouts.find_stuck_sending(
                conn, updated_before=datetime.now(timezone.utc) - timedelta(minutes=5)
            )
        ]
        later = datetime.now(timezone.utc) + timedelta(minutes=1)
        assert payout.id in [p.id for p in await payouts.find_stuck_sending(conn, updated_before=later, limit=10_000)]
        assert (await payouts.record_attempt(conn, payout_id=payout.id)).attempts == 2
        assert payout.id in [p.id for p in await payouts.list_by_status(conn, status="sending", limit=10_000)]


async def test_reserved_balance_matches_open_payouts_in_ledger_check(clean_database_url):
    async with connect(clean_database_url) as conn:
        user = await get_or_create(conn, telegram_id=5, language="ru")
        async with conn.transaction():
            await ledger.credit_earning(conn, user_id=user.id, amount=D("900.00"), idempotency_key="f")
            payout, _ = await payouts.create_requested(conn, user_id=user.id, amount_rub=D("500.00"), asset="USDT")
        assert await check_ledger(conn) == []
        await conn.execute(
            "UPDATE payouts SET status = 'paid' WHERE id = %s", (payout.id,)
        )  # status without its transfer
        assert await check_ledger(conn) == [f"user {user.id}: reserved 500.00 != open payouts 0"]


async def test_rates_history_and_latest(clean_database_url):
    t0 = datetime(2026, 1, 1, tzinfo=timezone.utc)
    async with connect(clean_database_url) as conn:
        await rates.store(conn, source="usdt", rate=D("95.10"), fetched_at=t0)
        await rates.store(conn, source="USDT", rate=D("96.25"), fetched_at=t0 + timedelta(minutes=5))
        await rates.store(conn, source="TON", rate=D("510.5"), fetched_at=t0)
        latest = await rates.latest(conn, source="USDT")
        assert latest.rate == D("96.25") and latest.fetched_at == t0 + timedelta(minutes=5) and latest.target == "RUB"
        assert {k: v.rate for k, v in (await rates.latest_all(conn)).items()} == {"USDT": D("96.25"), "TON": D("510.5")}
        assert await rates.latest(conn, source="BTC") is None
        with pytest.raises(ValueError):
            await rates.store(conn, source="USDT", rate=D("0"), fetched_at=t0)


async def test_audit_log(pool, make_user):
    user = await make_user()
    async with pool.connection() as conn:
        first = await audit.record(
            conn,
            admin_id=777,
            action="user.ban",
            target_type="user",
            target_id=user.id,
            reason="spam",
            details={"amount": "1.00"},
        )
        await audit.record(conn, admin_id=777, action="user.unban", target_type="user", target_id=user.id)
        entries = await audit.list_for_target(conn, target_type="user", target_id=user.id)
        assert [e.action for e in entries] == ["user.unban", "user.ban"]
        assert entries[1] == first and first.details == {"amount": "1.00"}
        assert (await audit.recent(conn, admin_id=777, limit=1))[0].action == "user.unban"


async def test_payouts_refused_for_funds_wait_approved_and_only_the_first_is_first(pool, make_user):
    asset = f"W{uuid.uuid4().hex[:8].upper()}"  # an asset no other test's payouts use
    waiting = []
    for _ in range(2):
        user = await _funded_user(pool, make_user, "1000.00")
        async with unit_of_work(pool) as conn:
            payout, _ = await payouts.create_requested(conn, user_id=user.id, amount_rub=D("700.00"), asset=asset)
            await payouts.transition(conn, payout_id=payout.id, to_status="approved")
            await payouts.transition(conn, payout_id=payout.id, to_status="sending", asset_amount=D("7"))
        waiting.append(payout)
    async with unit_of_work(pool) as conn:
        first, is_first = await payouts.wait_for_funds(conn, payout_id=waiting[0].id)
        second, second_is_first = await payouts.wait_for_funds(conn, payout_id=waiting[1].id)
        replay, _ = await payouts.wait_for_funds(conn, payout_id=waiting[1].id)
    assert (is_first, second_is_first, replay) == (True, False, None)
    assert first.status == second.status == "approved" and first.funds_wait_since is not None
    async with unit_of_work(pool) as conn:
        # only a payout going back to approved waits for funds; nothing changes otherwise
        with pytest.raises(ValueError):
            await payouts.transition(conn, payout_id=first.id, to_status="sending", waits_for_funds=True)
        assert (await payouts.get(conn, first.id)).status == "approved"
        resumed = await payouts.end_funds_wait(conn, payout_id=first.id)
        assert await payouts.end_funds_wait(conn, payout_id=first.id) is None
        again = await payouts.transition(conn, payout_id=first.id, to_status="sending", from_statuses=("approved",))
        balances = await ledger.balances(conn, first.user_id)
        assert await check_ledger(conn) == []
    assert resumed.funds_wait_since is None and again.status == "sending" and again.attempts == 2
    assert balances.reserved == D("700.00")  # the money stayed reserved throughout
