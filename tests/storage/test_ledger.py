"""Double-entry ledger: invariants under concurrency, idempotency, tamper detection."""

from __future__ import annotations

import asyncio
import random
from decimal import Decimal

import psycopg
import pytest

from zenith.storage import ledger
from zenith.storage.db import connect, open_pool, unit_of_work
from zenith.storage.ledger_check import check_ledger
from zenith.storage.users import get_or_create

D = Decimal


async def test_credit_then_replay_changes_nothing(pool, make_user):
    user = await make_user()
    async with unit_of_work(pool) as conn:
        assert await ledger.credit_earning(conn, user_id=user.id, amount=D("12.34"), idempotency_key=f"t:{user.id}:1")
    async with unit_of_work(pool) as conn:
        assert not await ledger.credit_earning(
            conn, user_id=user.id, amount=D("99.00"), idempotency_key=f"t:{user.id}:1"
        )
    async with pool.connection() as conn:
        assert await ledger.balances(conn, user.id) == ledger.UserBalances(D("12.34"), D("0.00"), D("0.00"))
        entries = await ledger.history(conn, user.id)
    assert [(e.kind, e.amount, e.to_account) for e in entries] == [("earning", D("12.34"), f"user:{user.id}:available")]


async def test_overdraft_raises_and_changes_nothing(pool, make_user):
    user = await make_user()
    async with unit_of_work(pool) as conn:
        await ledger.credit_earning(conn, user_id=user.id, amount=D("5.00"), idempotency_key=f"t:{user.id}:c")
    with pytest.raises(ledger.InsufficientFunds) as caught:
        async with unit_of_work(pool) as conn:
            await ledger.adjust(conn, user_id=user.id, amount=D("-5.01"), idempotency_key=f"t:{user.id}:d", memo="test")
    assert caught.value.balance == D("5.00")
    async with pool.connection() as conn:
        assert (await ledger.balances(conn, user.id)).available == D("5.00")
        assert len(await ledger.history(conn, user.id)) == 1


async def test_replayed_debit_returns_false_even_when_funds_are_gone(pool, make_user):
    user = await make_user()
    async with unit_of_work(pool) as conn:
        await ledger.credit_earning(conn, user_id=user.id, amount=D("10.00"), idempotency_key=f"t:{user.id}:c")
        assert await ledger.adjust(
            conn, user_id=user.id, amount=D("-10.00"), idempotency_key=f"t:{user.id}:d", memo="x"
        )
    async with unit_of_work(pool) as conn:
        assert not await ledger.adjust(
            conn, user_id=user.id, amount=D("-10.00"), idempotency_key=f"t:{user.id}:d", memo="x"
        )


@pytest.mark.parametrize("amount", [D("0"), D("-1.00"), D("1.001"), D("NaN"), 1.5, 3])
async def test_bad_amounts_are_refused(pool, make_user, amount):
    user = await make_user()
    with pytest.raises(ledger.InvalidAmount):
        async with unit_of_work(pool) as conn:
            await ledger.credit_earning(conn, user_id=user.id, amount=amount, idempotency_key=f"t:{user.id}:bad")


async def test_bad_accounts_and_kinds_are_refused(pool, make_user):
    user = await make_user()
    async with unit_of_work(pool) as conn:
        with pytest.raises(ledger.UnknownAccount):
            await ledger.transfer(
                conn,
                from_account="system:nope",
                to_account=f"user:{user.id}:available",
                amount=D("1.00"),
                idempotency_key="x1",
                kind="earning",
            )
        with pytest.raises(ValueError):
            await ledger.transfer(
                conn,
                from_account=ledger.EARNINGS,
                to_account=f"user:{user.id}:available",
                amount=D("1.00"),
                idempotency_key="x2",
                kind="gift",
            )


async def test_transfer_outside_a_transaction_is_refused(pool, make_user):
    user = await make_user()
    async with pool.connection() as conn:
        with pytest.raises(ledger.NotInTransaction):
            await ledger.credit_earning(conn, user_id=user.id, amount=D("1.00"), idempotency_key=f"t:{user.id}:x")


async def test_fifty_concurrent_credits_and_debits_keep_the_books_exact(database_url, make_user):
    """25 credits of 10.00 and 25 debits of 20.00 race on one user, each on its own connection."""
    user = await make_user()
    credits, debits = 25, 25
    big_pool = await open_pool(database_url, min_size=credits + debits, max_size=credits + debits, name="race")
    start = asyncio.Event()

    async def credit(i: int) -> str:
        await start.wait()
        async with unit_of_work(big_pool) as conn:
            await ledger.credit_earning(
                conn, user_id=user.id, amount=D("10.00"), idempotency_key=f"race:{user.id}:c{i}"
            )
        return "credited"

    async def debit(i: int) -> str:
        await start.wait()
        try:
            async with unit_of_work(big_pool) as conn:
                await ledger.adjust(
                    conn, user_id=user.id, amount=D("-20.00"), idempotency_key=f"race:{user.id}:d{i}", memo="race"
                )
        except ledger.InsufficientFunds:
            return "refused"
        return "debited"

    jobs = [credit(i) for i in range(credits)] + [debit(i) for i in range(debits)]
    random.Random(7).shuffle(jobs)
    try:
        tasks = [asyncio.create_task(job) for job in jobs]
        await asyncio.sleep(0.05)
        start.set()
        outcomes = await asyncio.gather(*tasks)
        async with big_pool.connection() as conn:
            balance = (await ledger.balances(conn, user.id)).available
            row = await (
                await conn.execute(
                    "SELECT coalesce(sum(CASE WHEN to_account = %(k)s THEN amount ELSE -amount END), 0) AS s"
                    " FROM ledger_transfers WHERE %(k)s IN (from_account, to_account)",
                    {"k": f"user:{user.id}:available"},
                )
            ).fetchone()
    finally:
        await big_pool.close()
    debited = outcomes.count("debited")
    assert outcomes.count("credited") == credits
    assert debited + outcomes.count("refused") == debits
    assert balance == D("10.00") * credits - D("20.00") * debited == row["s"]
    assert balance >= 0
    # 250.00 credited allows at most 12 debits of 20.00; the ones that came too early were refused
    assert debited <= 12


async def test_opposite_transfers_between_two_users_do_not_deadlock(pool, make_user):
    alice, bob = await make_user(), await make_user()
    async with unit_of_work(pool) as conn:
        for user in (alice, bob):
            await ledger.credit_earning(conn, user_id=user.id, amount=D("100.00"), idempotency_key=f"seed:{user.id}")

    async def move(src, dst, i):
        async with unit_of_work(pool) as conn:
            await ledger.transfer(
                conn,
                from_account=ledger.available_account(src.id),
                to_account=ledger.available_account(dst.id),
                amount=D("1.00"),
                idempotency_key=f"swap:{src.id}:{dst.id}:{i}",
                kind="adjustment",
            )

    await asyncio.wait_for(
        asyncio.gather(*[move(alice, bob, i) for i in range(10)], *[move(bob, alice, i) for i in range(10)]), 30
    )
    async with pool.connection() as conn:
        assert (await ledger.balances(conn, alice.id)).available == D("100.00")
        assert (await ledger.balances(conn, bob.id)).available == D("100.00")


async def test_check_ledger_is_clean_then_detects_a_tampered_balance(clean_database_url):
    async with connect(clean_database_url) as conn:
        user = await get_or_create(conn, telegram_id=1, language="ru")
        async with conn.transaction():
            await ledger.credit_earning(conn, user_id=user.id, amount=D("7.50"), idempotency_key="e1")
        assert await check_ledger(conn) == []
        await conn.execute(
            "UPDATE ledger_accounts SET balance = balance + 1 WHERE key = %s", (f"user:{user.id}:available",)
        )
        problems = await check_ledger(conn)
    assert any("cached balance 8.50 != sum of transfers 7.50" in p for p in problems)
    assert any("sum to 1.00" in p for p in problems)


async def test_database_refuses_negative_user_balances_and_edited_transfers(clean_database_url):
    async with connect(clean_database_url) as conn:
        user = await get_or_create(conn, telegram_id=2, language="en")
        async with conn.transaction():
            await ledger.credit_earning(conn, user_id=user.id, amount=D("1.00"), idempotency_key="e1")
        with pytest.raises(psycopg.errors.CheckViolation):
            await conn.execute("UPDATE ledger_accounts SET balance = -1 WHERE key = %s", (f"user:{user.id}:available",))
        with pytest.raises(psycopg.errors.RaiseException, match="append-only"):
            await conn.execute("UPDATE ledger_transfers SET amount = 2")
        with pytest.raises(psycopg.errors.RaiseException, match="append-only"):
            await conn.execute("DELETE FROM ledger_transfers")
