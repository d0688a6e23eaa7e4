"""A creator's balance read through the cache: one value for stats and transfers, fresh after a write."""

from __future__ import annotations

import uuid
from decimal import Decimal

import pytest
from redis.asyncio import Redis

from zenith.storage import ledger
from zenith.storage.creator_reads import CreatorReads


@pytest.fixture
async def reads(pool, redis_url, namespace):
    client = Redis.from_url(redis_url)
    yield CreatorReads(pool=pool, redis=client, prefix=f"{namespace}:cache:")
    keys = [key async for key in client.scan_iter(match=f"{namespace}:*")]
    if keys:
        await client.delete(*keys)
    await client.aclose()


async def credit(pool, user_id: int, amount: str) -> None:
    async with pool.connection() as conn, conn.transaction():
        await ledger.transfer(
            conn,
            from_account=ledger.ADJUSTMENTS,
            to_account=ledger.available_account(user_id),
            amount=Decimal(amount),
            idempotency_key=f"test:{uuid.uuid4()}",
            kind="adjustment",
        )


async def test_balance_is_stats_and_transfers_with_their_types_and_is_served_from_the_cache(pool, reads, make_user):
    user = await make_user()
    await credit(pool, user.id, "12.34")
    await credit(pool, user.id, "0.66")

    first = await reads.balance(user.id, 10)
    assert first.stats.available == Decimal("13.00")
    assert [t.amount for t in first.transfers] == [Decimal("0.66"), Decimal("12.34")]  # newest first
    assert all(isinstance(t.amount, Decimal) for t in first.transfers)
    assert first.campaigns == [] and first.campaign_names() == {}  # adjustments belong to no video

    # a write nobody announced is not seen: the value came from Redis, not PostgreSQL
    await credit(pool, user.id, "1.00")
    assert await reads.balance(user.id, 10) == first


async def test_balance_after_an_invalidated_write_shows_the_write(pool, reads, make_user):
    user = await make_user()
    await credit(pool, user.id, "5.00")
    assert (await reads.balance(user.id, 10)).stats.available == Decimal("5.00")

    await credit(pool, user.id, "2.50")
    assert await reads.invalidate(user.id)

    fresh = await reads.balance(user.id, 10)
    assert fresh.stats.available == Decimal("7.50")
    assert [t.amount for t in fresh.transfers] == [Decimal("2.50"), Decimal("5.00")]
    assert (await reads.balance(user.id, 1)).transfers == fresh.transfers[:1]  # the limit is part of the key
