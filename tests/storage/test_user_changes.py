"""Changes to users rows are announced (migration 0197) and, for this process, told at once."""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta, timezone

import pytest

from zenith.storage import user_changes, users


class Heard:
    """Listens on the announcement channel in a task; ``ids`` fills as changes commit."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.ids: list[int] = []
        self.listening = asyncio.Event()
        self.task: asyncio.Task[None] | None = None

    async def __aenter__(self) -> Heard:
        async def listen() -> None:
            async for telegram_id in user_changes.changed_telegram_ids(self.url, on_listening=self.listening.set):
                self.ids.append(telegram_id)

        self.task = asyncio.create_task(listen())
        await asyncio.wait_for(self.listening.wait(), timeout=10)
        return self

    async def __aexit__(self, *exc: object) -> None:
        assert self.task is not None
        self.task.cancel()
        await asyncio.gather(self.task, return_exceptions=True)

    async def until(self, telegram_id: int) -> None:
        for _ in range(1000):
            if telegram_id in self.ids:
                return
            await asyncio.sleep(0.01)
        raise AssertionError(f"no announcement for {telegram_id}; heard {self.ids}")


async def test_every_change_but_the_seen_mark_is_announced_on_commit(database_url, pool, new_telegram_id):
    tg = new_telegram_id()
    async with Heard(database_url) as heard, pool.connection() as conn:
        user = await users.get_or_create(conn, telegram_id=tg, language="en")
        await users.mark_seen(conn, user_id=user.id, now=datetime.now(timezone.utc))
        await users.mark_seen(conn, user_id=user.id, now=datetime.now(timezone.utc) + timedelta(hours=2))
        await users.contact(conn, telegram_id=tg, language="en", now=datetime.now(timezone.utc) + timedelta(hours=4))
        marker = new_telegram_id()  # a later change: once it is heard, anything before it was too
        marked = await users.get_or_create(conn, telegram_id=marker, language="en")
        await users.set_tier(conn, user_id=marked.id, tier="gold")
        await heard.until(marker)
        assert tg not in heard.ids  # creating a row and marking it seen are not announced

        async with conn.transaction():
            await users.ban(conn, user_id=user.id)
            await asyncio.sleep(0.2)
            assert tg not in heard.ids  # not before the commit
        await heard.until(tg)
        heard.ids.clear()
        await conn.execute("UPDATE users SET first_name = 'Psql' WHERE id = %s", (user.id,))  # any writer
        await heard.until(tg)
        heard.ids.clear()
        await conn.execute("DELETE FROM ledger_accounts WHERE user_id = -1")  # no users row involved
        await users.mark_inactive(conn, user_id=user.id)  # banned stays banned: nothing changes
        await users.set_tier(conn, user_id=marked.id, tier="bronze")
        await heard.until(marker)
        assert tg not in heard.ids


@pytest.mark.parametrize(
    "write",
    [
        lambda conn, user: users.set_language(conn, user_id=user.id, language="ru"),
        lambda conn, user: users.set_tier(conn, user_id=user.id, tier="gold"),
        lambda conn, user: users.ban(conn, user_id=user.id),
        lambda conn, user: users.mark_inactive(conn, user_id=user.id),
        lambda conn, user: users.get_or_create(conn, telegram_id=user.telegram_id, language="en", username="renamed"),
    ],
    ids=["language", "tier", "ban", "inactive", "renamed"],
)
async def test_writes_made_here_are_told_here_at_once(pool, new_telegram_id, write):
    told: list[int] = []
    undo = user_changes.on_local_change(told.append)
    try:
        async with pool.connection() as conn:
            user = await users.get_or_create(conn, telegram_id=new_telegram_id(), language="en")
            assert told == []  # a new row: nobody can keep it yet
            await write(conn, user)
            assert told == [user.telegram_id]
    finally:
        undo()
    async with pool.connection() as conn:
        await users.set_tier(conn, user_id=user.id, tier="bronze")
    assert told == [user.telegram_id]  # undone: no longer told
