"""The senders of one burst of updates are read together: one connection and one statement
for the known ones, each sender still getting their own row or their own error."""

from __future__ import annotations

import asyncio

import pytest

from tests.bot.conftest import new_telegram_id
from zenith.bot.contacts import SenderReads
from zenith.storage import users
from zenith.storage.db import open_pool


@pytest.fixture
def statements(monkeypatch):
    """The telegram ids of each `contact_known` statement, and the senders `contact` took one by one."""
    seen: dict[str, list] = {"known": [], "one_by_one": []}
    known, one = users.contact_known, users.contact

    async def counting_known(conn, contacts, **kwargs):
        seen["known"].append(sorted(c.telegram_id for c in contacts))
        return await known(conn, contacts, **kwargs)

    async def counting_one(conn, **kwargs):
        seen["one_by_one"].append(kwargs["telegram_id"])
        return await one(conn, **kwargs)

    monkeypatch.setattr(users, "contact_known", counting_known)
    monkeypatch.setattr(users, "contact", counting_one)
    return seen


async def test_a_burst_of_senders_is_one_statement_and_each_gets_their_row(pool, statements):
    reads = SenderReads(pool=pool, timeout=5)
    known_ids = [new_telegram_id() for _ in range(5)]
    async with pool.connection() as conn:
        for tg in known_ids:
            await users.get_or_create(conn, telegram_id=tg, language="en", first_name="Known")
    newcomer = new_telegram_id()
    burst = [users.Contact(tg, "en", first_name="Known") for tg in known_ids] + [users.Contact(newcomer, "ru")]
    rows = await asyncio.gather(*(reads.call(contact) for contact in burst))
    assert [row.telegram_id for row in rows] == [c.telegram_id for c in burst]
    assert all(row.last_seen_at is not None for row in rows)  # every one marked seen
    assert statements["known"] == [sorted(c.telegram_id for c in burst)]  # one statement for the burst
    assert statements["one_by_one"] == [newcomer]  # only the first contact went alone
    assert rows[-1].language == "ru"  # registered with their language


async def test_one_sender_failing_fails_only_their_update(pool):
    reads = SenderReads(pool=pool, timeout=5)
    known = new_telegram_id()
    async with pool.connection() as conn:
        await users.get_or_create(conn, telegram_id=known, language="en")
    # a first contact in a language the bot has no catalogue for is refused by `get_or_create`
    results = await asyncio.gather(
        reads.call(users.Contact(known, "en")),
        reads.call(users.Contact(new_telegram_id(), "de")),
        return_exceptions=True,
    )
    assert isinstance(results[0], users.User) and results[0].telegram_id == known
    assert isinstance(results[1], ValueError)


async def test_a_database_that_does_not_answer_in_time_fails_the_burst_with_timeout(database_url):
    pool = await open_pool(database_url, min_size=1, max_size=1, name="test-held")
    try:
        reads = SenderReads(pool=pool, timeout=0.3)
        async with pool.connection():  # the only connection is held: the burst cannot get one
            results = await asyncio.gather(
                *(reads.call(users.Contact(new_telegram_id(), "en")) for _ in range(3)), return_exceptions=True
            )
        assert all(isinstance(r, TimeoutError) for r in results), results
        # the pool is free again: the next burst is read
        (row,) = await asyncio.gather(reads.call(users.Contact(new_telegram_id(), "en")))
        assert row.last_seen_at is not None
    finally:
        await pool.close()
