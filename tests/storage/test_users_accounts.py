"""Users and platform accounts repositories."""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta, timezone

import pytest

from zenith.domain.users import UserStatus
from zenith.storage import accounts, ledger, users


async def test_get_or_create_is_idempotent_and_creates_ledger_accounts(pool, new_telegram_id):
    tg = new_telegram_id()
    async with pool.connection() as conn:
        first = await users.get_or_create(conn, telegram_id=tg, language="en", username="a", first_name="A")
        again = await users.get_or_create(conn, telegram_id=tg, language="ru", username="b")
        assert again.id == first.id and again.language == "en" and again.username == "b" and again.first_name == "A"
        assert first.tier == "bronze" and first.status == "active"
        keys = await (
            await conn.execute("SELECT key FROM ledger_accounts WHERE user_id = %s ORDER BY key", (first.id,))
        ).fetchall()
        assert [r["key"] for r in keys] == [ledger.available_account(first.id), ledger.reserved_account(first.id)]
        assert await users.find_by_telegram_id(conn, tg) == again
        with pytest.raises(ValueError):
            await users.get_or_create(conn, telegram_id=new_telegram_id(), language="de")


async def test_contact_registers_refreshes_and_marks_seen_at_most_hourly(pool, new_telegram_id):
    tg = new_telegram_id()
    t0 = datetime(2026, 3, 1, 12, 0, tzinfo=timezone.utc)

    async def seen_at(conn) -> datetime | None:
        row = await (await conn.execute("SELECT last_seen_at FROM users WHERE telegram_id = %s", (tg,))).fetchone()
        return row["last_seen_at"]

    async with pool.connection() as conn:
        first = await users.contact(conn, telegram_id=tg, language="en", now=t0, username="a", first_name="A")
        assert first.last_seen_at == t0 == await seen_at(conn) and first.language == "en"
        assert first == await users.find_by_telegram_id(conn, tg)  # registered, with what it returned
        # within the hour: read, not marked
        later = await users.contact(conn, telegram_id=tg, language="ru", now=t0 + timedelta(minutes=59), first_name="A")
        assert later == first and await seen_at(conn) == t0
        # an hour on: marked, the row returned as stored
        hour = t0 + timedelta(hours=1)
        marked = await users.contact(conn, telegram_id=tg, language="en", now=hour, username="a")
        assert marked.last_seen_at == hour == await seen_at(conn)
        assert marked == await users.find_by_telegram_id(conn, tg)
        # an earlier clock never moves the mark back
        assert (await users.contact(conn, telegram_id=tg, language="en", now=t0)).last_seen_at == hour
        # a new name, or a return after blocking the bot, is written and marked in the same contact
        await users.mark_inactive(conn, user_id=first.id)
        two_hours = t0 + timedelta(hours=2)
        back = await users.contact(conn, telegram_id=tg, language="en", now=two_hours, username="b", first_name="B")
        assert (back.status, back.username, back.first_name) == ("active", "b", "B")
        assert back.last_seen_at == two_hours == await seen_at(conn)
        assert back == await users.find_by_telegram_id(conn, tg)
        # a banned creator stays banned, and is still counted as seen
        await users.ban(conn, user_id=first.id)
        banned = await users.contact(conn, telegram_id=tg, language="en", now=t0 + timedelta(hours=3))
        assert banned.status == "banned" and await seen_at(conn) == t0 + timedelta(hours=3)


async def test_contact_known_reads_and_marks_many_as_contact_would(pool, make_user, new_telegram_id):
    t0 = datetime(2026, 3, 1, 12, 0, tzinfo=timezone.utc)
    due, recent, renamed, inactive = [await make_user(username=f"u{i}", first_name="N") for i in range(4)]
    stranger = new_telegram_id()
    async with pool.connection() as conn:
        await users.mark_seen(conn, user_id=recent.id, now=t0 - timedelta(minutes=10))
        await users.mark_inactive(conn, user_id=inactive.id)
        contacts = [
            users.Contact(due.telegram_id, "en", "u0", "N"),
            users.Contact(recent.telegram_id, "en", "u1", "N"),
            users.Contact(renamed.telegram_id, "en", "new-name", "N"),
            users.Contact(stranger, "en"),
            users.Contact(inactive.telegram_id, "en", "u3", "N"),
            users.Contact(due.telegram_id, "en", "u0", "N"),  # the same creator twice in one burst
        ]
        known = await users.contact_known(conn, contacts, now=t0)
        # the known, unchanged ones are read (and marked when due); the rest are left to `contact`
        assert [u is None for u in known] == [False, False, True, True, True, False]
        assert known[0] == known[5] == await users.find_by_telegram_id(conn, due.telegram_id)
        assert known[0].last_seen_at == t0
        assert known[1] == await users.find_by_telegram_id(conn, recent.telegram_id)
        assert known[1].last_seen_at == t0 - timedelta(minutes=10)  # within the hour: not written
        # the ones left out are what `contact` writes: nothing of theirs was written here
        assert (await users.find_by_telegram_id(conn, renamed.telegram_id)).username == "u2"
        assert await users.find_by_telegram_id(conn, stranger) is None
        assert (await users.find_by_telegram_id(conn, inactive.telegram_id)).status == "inactive"


async def test_contact_known_skips_a_row_another_transaction_holds(pool, make_user):
    held, free = await make_user(), await make_user()
    now = datetime.now(timezone.utc)
    async with pool.connection() as holder, holder.transaction():
        await holder.execute("SELECT 1 FROM users WHERE id = %s FOR UPDATE", (held.id,))
        async with pool.connection() as conn:
            async with asyncio.timeout(5):  # it must not wait for the lock
                known = await users.contact_known(
                    conn, [users.Contact(held.telegram_id, "en"), users.Contact(free.telegram_id, "en")], now=now
                )
        assert known[0] is not None and known[0].id == held.id and known[0].last_seen_at is None  # read, not marked
        assert known[1] is not None and known[1].last_seen_at == now
    async with pool.connection() as conn:
        (marked,) = await users.contact_known(conn, [users.Contact(held.telegram_id, "en")], now=now)
    assert marked is not None and marked.last_seen_at == now  # the next message marks it


async def test_settings_ban_inactive_and_paging(pool, make_user):
    a, b, c = await make_user(), await make_user(), await make_user()
    async with pool.connection() as conn:
        assert (await users.set_language(conn, user_id=a.id, language="ru")).language == "ru"
        assert (await users.set_tier(conn, user_id=a.id, tier="gold")).tier == "gold"
        assert (await users.ban(conn, user_id=b.id)).status == "banned"
        assert await users.mark_inactive(conn, user_id=b.id) is None  # banned stays banned
        assert (await users.mark_inactive(conn, user_id=c.id)).status == "inactive"
        # writing to the bot again reactivates an inactive user, not a banned one
        assert (await users.get_or_create(conn, telegram_id=c.telegram_id, language="en")).status == "active"
        assert (await users.get_or_create(conn, telegram_id=b.telegram_id, language="en")).status == "banned"
        assert (await users.unban(conn, user_id=b.id)).status is UserStatus.ACTIVE  # rows carry the enum
        await users.ban(conn, user_id=b.id)
        pages, after = [], a.id - 1
        while page := await users.list_active_ids(conn, after_id=after, limit=1):
            pages += page
            after = page[-1]
            if after >= c.id:
                break
        assert a.id in pages and c.id in pages and b.id not in pages
        assert await users.count(conn) >= 3 and await users.count(conn, status="banned") >= 1
        with pytest.raises(ValueError):
            await users.count(conn, status="deleted")
        with pytest.raises(users.UserNotFound):
            await users.get(conn, 10**15)


async def test_account_linking_verification_and_ownership(pool, make_user):
    alice, bob = await make_user(), await make_user()
    handle = f"creator{alice.id}"
    async with pool.connection() as conn:
        pending = await accounts.create_pending(
            conn, user_id=alice.id, platform="tiktok", handle=f" @{handle.upper()}", verification_code="111"
        )
        assert pending.handle == handle and pending.state == "pending"
        again = await accounts.create_pending(
            conn, user_id=alice.id, platform="tiktok", handle=handle, verification_code="222"
        )
        assert again.id == pending.id and again.verification_code == "222"
        bobs = await accounts.create_pending(
            conn, user_id=bob.id, platform="tiktok", handle=handle, verification_code="333"
        )
        verified = await accounts.mark_verified(conn, account_id=pending.id, external_id=f"tt{alice.id}")
        assert verified.state == "verified" and verified.verified_at is not None
        assert (await accounts.mark_verified(conn, account_id=pending.id)).verified_at == verified.verified_at
        async with conn.transaction():
            with pytest.raises(accounts.AccountTaken):
                await accounts.mark_verified(conn, account_id=bobs.id)
            # the surrounding transaction is still usable
            failed = await accounts.mark_failed(conn, account_id=bobs.id, reason="owned by someone else")
        assert failed.state == "failed"
        assert await accounts.find_verified(conn, platform="tiktok", handle="@" + handle) == verified
        assert await accounts.find_verified(conn, platform="tiktok", external_id=f"tt{alice.id}") == verified
        assert await accounts.find_verified(conn, platform="youtube", handle=handle) is None
        assert [a.id for a in await accounts.list_verified(conn, user_id=alice.id)] == [pending.id]
        relinked = await accounts.create_pending(
            conn, user_id=alice.id, platform="tiktok", handle=handle, verification_code="9"
        )
        assert relinked == verified
