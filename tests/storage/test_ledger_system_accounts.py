"""System accounts keep no cached balance: credits and settlements of different users never
queue on one system row, system balances are derived from transfers, and migration 0003
turns an existing ledger (cached system balances) into that shape without losing a cent."""

from __future__ import annotations

import asyncio
import shutil
from decimal import Decimal

import psycopg
import pytest

from tests.conftest import create_database, drop_database
from zenith.storage import ledger, payouts
from zenith.storage.db import connect, fetch_all, fetch_one, unit_of_work
from zenith.storage.ledger_check import check_ledger, ledger_summary
from zenith.storage.migrate import MIGRATIONS_DIR, apply_migrations
from zenith.storage.users import get_or_create

D = Decimal
# a regression (a lock on a system row) must fail fast, not hang the suite
LOCK_TIMEOUT = "1s"


async def _credit_and_hold(url: str, *, user_id: int, key: str, all_credited: asyncio.Barrier) -> None:
    """Credit ``user_id`` and keep the transaction open until every other holder has credited too."""
    async with connect(url) as conn:
        async with conn.transaction():
            await conn.execute(f"SET LOCAL lock_timeout = '{LOCK_TIMEOUT}'")
            await ledger.credit_earning(conn, user_id=user_id, amount=D("1.00"), idempotency_key=key)
            await asyncio.wait_for(all_credited.wait(), 15)


async def test_credits_to_different_users_are_all_in_flight_at_once(database_url, make_user):
    """Eight transactions each credit a different user and all stay open together: none waits on system:earnings."""
    people = [await make_user() for _ in range(8)]
    all_credited = asyncio.Barrier(len(people))
    await asyncio.wait_for(
        asyncio.gather(
            *(
                _credit_and_hold(database_url, user_id=user.id, key=f"inflight:{user.id}", all_credited=all_credited)
                for user in people
            )
        ),
        30,
    )
    async with connect(database_url) as conn:
        for user in people:
            assert (await ledger.balances(conn, user.id)).available == D("1.00")


async def test_credit_completes_while_another_users_credit_is_uncommitted(database_url, make_user):
    alice, bob = await make_user(), await make_user()
    async with connect(database_url) as holder, connect(database_url) as other:
        async with holder.transaction():
            assert await ledger.credit_earning(
                holder, user_id=alice.id, amount=D("3.00"), idempotency_key=f"hold:{alice.id}"
            )
            async with other.transaction():  # would raise LockNotAvailable if it queued behind alice's credit
                await other.execute(f"SET LOCAL lock_timeout = '{LOCK_TIMEOUT}'")
                assert await asyncio.wait_for(
                    ledger.credit_earning(other, user_id=bob.id, amount=D("4.00"), idempotency_key=f"hold:{bob.id}"), 10
                )
            assert (await ledger.balances(other, bob.id)).available == D("4.00")
            assert (await ledger.balances(other, alice.id)).available == D("0.00")  # not committed yet
        assert (await ledger.balances(other, alice.id)).available == D("3.00")


async def _payout_in_sending(pool, user_id: int) -> payouts.Payout:
    async with unit_of_work(pool) as conn:
        await ledger.credit_earning(conn, user_id=user_id, amount=D("50.00"), idempotency_key=f"fund:{user_id}")
        payout, _ = await payouts.create_requested(conn, user_id=user_id, amount_rub=D("20.00"), asset="USDT")
        await payouts.transition(conn, payout_id=payout.id, to_status="approved")
        return await payouts.transition(conn, payout_id=payout.id, to_status="sending")


async def test_settlement_completes_while_another_users_settlement_is_uncommitted(database_url, pool, make_user):
    alice, bob = await make_user(), await make_user()
    alice_payout, bob_payout = await _payout_in_sending(pool, alice.id), await _payout_in_sending(pool, bob.id)
    async with connect(database_url) as holder, connect(database_url) as other:
        async with holder.transaction():
            assert (await payouts.transition(holder, payout_id=alice_payout.id, to_status="paid")).status == "paid"
            async with other.transaction():  # would raise LockNotAvailable if it queued on system:payouts
                await other.execute(f"SET LOCAL lock_timeout = '{LOCK_TIMEOUT}'")
                paid = await asyncio.wait_for(payouts.transition(other, payout_id=bob_payout.id, to_status="paid"), 10)
                assert paid.status == "paid"
    async with connect(database_url) as conn:
        for user in (alice, bob):
            assert await ledger.balances(conn, user.id) == ledger.UserBalances(D("30.00"), D("0.00"), D("20.00"))


async def test_system_balances_are_derived_and_all_balances_sum_to_zero(clean_database_url):
    async with connect(clean_database_url) as conn:
        ann = await get_or_create(conn, telegram_id=11, language="en")
        ben = await get_or_create(conn, telegram_id=12, language="ru")
        async with conn.transaction():
            await ledger.credit_earning(conn, user_id=ann.id, amount=D("100.00"), idempotency_key="e1")
            await ledger.credit_earning(conn, user_id=ben.id, amount=D("40.50"), idempotency_key="e2")
            await ledger.adjust(conn, user_id=ben.id, amount=D("-0.50"), idempotency_key="a1", memo="typo")
            payout, _ = await payouts.create_requested(conn, user_id=ann.id, amount_rub=D("60.00"), asset="USDT")
            for status in ("approved", "sending", "paid"):
                await payouts.transition(conn, payout_id=payout.id, to_status=status)
        rows = await fetch_all(conn, "SELECT key, balance FROM ledger_accounts WHERE key LIKE 'system:%' ORDER BY key")
        assert rows == [
            {"key": key, "balance": None}
            for key in (ledger.ADJUSTMENTS, ledger.EARNINGS, ledger.PAYOUTS, ledger.SPONSORS)
        ]
        assert await ledger.account_balance(conn, ledger.EARNINGS) == D("-140.50")
        assert await ledger.account_balance(conn, ledger.PAYOUTS) == D("60.00")
        assert await ledger.account_balance(conn, ledger.ADJUSTMENTS) == D("0.50")
        assert await ledger.account_balance(conn, ledger.available_account(ann.id)) == D("40.00")
        assert await ledger.balances(conn, ann.id) == ledger.UserBalances(D("40.00"), D("0.00"), D("60.00"))
        users_total = (await fetch_one(conn, "SELECT sum(balance) AS s FROM ledger_accounts WHERE key LIKE 'user:%'"))[
            "s"
        ]
        assert users_total + D("-140.50") + D("60.00") + D("0.50") == 0
        assert await check_ledger(conn) == []
        summary = await ledger_summary(conn)
        assert (summary["earned"], summary["paid_out"]) == (D("140.50"), D("60.00"))
        with pytest.raises(ledger.UnknownAccount):
            await ledger.account_balance(conn, "user:999999:available")


async def test_debit_from_system_payouts_cannot_take_it_below_zero(clean_database_url):
    """system:payouts keeps no cache but still must not go negative: its debit is checked against its transfers."""
    async with connect(clean_database_url) as conn:
        user = await get_or_create(conn, telegram_id=13, language="en")
        async with conn.transaction():
            await ledger.credit_earning(conn, user_id=user.id, amount=D("10.00"), idempotency_key="e")
            payout, _ = await payouts.create_requested(conn, user_id=user.id, amount_rub=D("10.00"), asset="USDT")
            for status in ("approved", "sending", "paid"):
                await payouts.transition(conn, payout_id=payout.id, to_status=status)
        back = {"from_account": ledger.PAYOUTS, "to_account": ledger.available_account(user.id), "kind": "adjustment"}
        with pytest.raises(ledger.InsufficientFunds) as caught:
            async with conn.transaction():
                await ledger.transfer(conn, amount=D("10.01"), idempotency_key="back:1", **back)
        assert caught.value.balance == D("10.00")
        async with conn.transaction():
            assert await ledger.transfer(conn, amount=D("10.00"), idempotency_key="back:2", **back)
        assert await ledger.account_balance(conn, ledger.PAYOUTS) == D("0.00")
        assert await check_ledger(conn) == []


async def test_check_ledger_reports_a_user_account_that_lost_its_cache_or_a_stale_system_cache(clean_database_url):
    async with connect(clean_database_url) as conn:
        user = await get_or_create(conn, telegram_id=14, language="en")
        async with conn.transaction():
            await ledger.credit_earning(conn, user_id=user.id, amount=D("2.00"), idempotency_key="e")
        with pytest.raises(psycopg.errors.CheckViolation):
            await conn.execute(
                "UPDATE ledger_accounts SET balance = NULL WHERE key = %s", (ledger.available_account(user.id),)
            )
        await conn.execute("UPDATE ledger_accounts SET balance = 0 WHERE key = %s", (ledger.EARNINGS,))
        assert await check_ledger(conn) == ["account system:earnings: cached balance 0.00 != sum of transfers -2.00"]


def _old_migrations(tmp_path):
    """The migrations that existed before system balances were derived (same files, same checksums)."""
    folder = tmp_path / "old_migrations"
    folder.mkdir()
    for name in ("0001_initial.sql", "0002_pending_account_per_handle.sql"):
        shutil.copy(MIGRATIONS_DIR / name, folder / name)
    return folder


async def _old_style_transfer(conn, *, source: str, target: str, amount: str, key: str, kind: str) -> None:
    """What the ledger wrote before migration 0003: the transfer and both cached balances."""
    await conn.execute(
        "INSERT INTO ledger_transfers (from_account, to_account, amount, kind, idempotency_key) VALUES (%s, %s, %s, %s, %s)",
        (source, target, D(amount), kind, key),
    )
    await conn.execute("UPDATE ledger_accounts SET balance = balance - %s WHERE key = %s", (D(amount), source))
    await conn.execute("UPDATE ledger_accounts SET balance = balance + %s WHERE key = %s", (D(amount), target))


async def _ledger_with_old_cached_system_balances(url: str, tmp_path) -> int:
    await apply_migrations(url, directory=_old_migrations(tmp_path))
    async with connect(url) as conn:
        user_id = (await fetch_one(conn, "INSERT INTO users (telegram_id) VALUES (21) RETURNING id"))["id"]
        await conn.execute(
            "INSERT INTO ledger_accounts (key, user_id) VALUES (%s, %s), (%s, %s)",
            (ledger.available_account(user_id), user_id, ledger.reserved_account(user_id), user_id),
        )
        available = ledger.available_account(user_id)
        async with conn.transaction():
            await _old_style_transfer(
                conn, source=ledger.EARNINGS, target=available, amount="75.25", key="e1", kind="earning"
            )
            await _old_style_transfer(
                conn, source=available, target=ledger.ADJUSTMENTS, amount="5.25", key="a1", kind="adjustment"
            )
        cached = await fetch_one(conn, "SELECT balance FROM ledger_accounts WHERE key = %s", (ledger.EARNINGS,))
        assert cached["balance"] == D("-75.25")
    return user_id


async def test_migration_0003_keeps_an_existing_ledger_consistent(tmp_path):
    url = create_database()
    try:
        user_id = await _ledger_with_old_cached_system_balances(url, tmp_path)
        applied = await apply_migrations(url)
        assert applied[0] == "0003_system_balances_derived"
        async with connect(url) as conn:
            assert await check_ledger(conn) == []
            system = await fetch_all(conn, "SELECT balance FROM ledger_accounts WHERE key LIKE 'system:%'")
            assert [row["balance"] for row in system] == [None] * 4  # and system:sponsors, from 0181
            assert await ledger.account_balance(conn, ledger.EARNINGS) == D("-75.25")
            assert await ledger.account_balance(conn, ledger.ADJUSTMENTS) == D("5.25")
            async with conn.transaction():
                assert await ledger.credit_earning(conn, user_id=user_id, amount=D("1.00"), idempotency_key="e2")
                assert not await ledger.credit_earning(conn, user_id=user_id, amount=D("1.00"), idempotency_key="e1")
            assert (await ledger.balances(conn, user_id)).available == D("71.00")
            assert await check_ledger(conn) == []
    finally:
        drop_database(url)


async def test_migration_0003_refuses_a_ledger_whose_system_cache_disagrees(tmp_path):
    url = create_database()
    try:
        await _ledger_with_old_cached_system_balances(url, tmp_path)
        async with connect(url) as conn:
            await conn.execute("UPDATE ledger_accounts SET balance = balance - 1 WHERE key = %s", (ledger.EARNINGS,))
        with pytest.raises(
            psycopg.errors.RaiseException, match="system:earnings caches balance -76.25 but its transfers sum to -75.25"
        ):
            await apply_migrations(url)
        async with connect(url) as conn:  # rolled back: the evidence is still there
            cached = await fetch_one(conn, "SELECT balance FROM ledger_accounts WHERE key = %s", (ledger.EARNINGS,))
            assert cached["balance"] == D("-76.25")
    finally:
        drop_database(url)
