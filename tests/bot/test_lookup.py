"""Finding a creator by what an admin types: Telegram id or @username in any case."""

from __future__ import annotations

import pytest

from tests.bot.conftest import new_telegram_id
from zenith.bot.lookup import LookupNotUnderstood, find_user
from zenith.storage import users
from zenith.storage.db import fetch_one, unit_of_work


async def test_find_by_username_ignores_case_and_at_sign_and_prefers_the_latest_holder(pool):
    name = f"Anna_{new_telegram_id()}"
    async with unit_of_work(pool) as conn:
        old = await users.get_or_create(conn, telegram_id=new_telegram_id(), language="ru", username=name.lower())
        new = await users.get_or_create(conn, telegram_id=new_telegram_id(), language="en", username=name)
        await conn.execute("UPDATE users SET updated_at = now() - interval '1 day' WHERE id = %s", (old.id,))
    async with pool.connection() as conn:
        for text in (name, name.upper(), f"@{name.lower()}", f"  @{name}  "):
            found = await users.find_by_username(conn, text)
            assert found is not None and found.id == new.id, text
        assert await users.find_by_username(conn, f"{name}x") is None
        assert await users.find_by_username(conn, "@") is None
        assert (await find_user(conn, f"@{name.upper()}")).id == new.id
        assert (await find_user(conn, str(old.telegram_id))).id == old.id
        with pytest.raises(LookupNotUnderstood):
            await find_user(conn, "not a name!")


async def test_username_lookup_uses_its_index(pool):
    async with pool.connection() as conn:
        await conn.execute("SET enable_seqscan = off")
        plan = await fetch_one(
            conn,
            "EXPLAIN (FORMAT JSON) SELECT * FROM users WHERE lower(username) = lower('x') AND username IS NOT NULL ORDER BY updated_at DESC LIMIT 1",
        )
        await conn.execute("RESET enable_seqscan")
    assert "users_username_lower" in str(plan)
