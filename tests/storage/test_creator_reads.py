"""A creator's balance read through the cache: one value for stats and transfers, fresh after a write."""

from __future__ import annotations

import asyncio
import uuid
from decimal import Decimal

import pytest
from redis.asyncio import Redis

from zenith.domain.campaigns import CampaignTerms
from zenith.storage import campaigns, ledger, videos
from zenith.storage.creator_reads import CreatorReads
from zenith.storage.db import open_pool


@pytest.fixture
async def reads(pool, redis_url, namespace):
    client = Redis.from_url(redis_url)
    yield CreatorReads(pool=pool, redis=client, prefix=f"{namespace}:cache:")
    keys = [key async for key in client.scan_iter(match=f"{namespace}:*")]
    if keys:
        await client.delete(*keys)
    await client.aclose()


async def credit(pool, user_id: int, amount: str, *, video_id: int | None = None) -> None:
    async with pool.connection() as conn, conn.transaction():
        await ledger.transfer(
            conn,
            from_account=ledger.ADJUSTMENTS,
            to_account=ledger.available_account(user_id),
            amount=Decimal(amount),
            idempotency_key=f"test:{uuid.uuid4()}",
            kind="adjustment",
            video_id=video_id,
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


async def test_misses_of_one_burst_load_together_and_each_creator_gets_their_own(
    pool, reads, make_user, monkeypatch, namespace
):
    async with pool.connection() as conn:
        default_name = (await (await conn.execute("SELECT name FROM campaigns WHERE id = 1")).fetchone())["name"]
        spring = await campaigns.create(
            conn, name=f"spring-{uuid.uuid4().hex[:6]}", terms=CampaignTerms(rate_per_1000=Decimal("100"), min_views=0)
        )
    creators = [await make_user() for _ in range(3)]
    expected_names = {}
    for index, user in enumerate(creators):
        async with pool.connection() as conn:
            video, _ = await videos.insert(
                conn,
                platform="youtube",
                external_id=uuid.uuid4().hex[:11],
                user_id=user.id,
                url="https://youtu.be/x",
                request_id=uuid.uuid4().hex,
                campaign_id=spring.id if index == 1 else 1,
            )
        await credit(pool, user.id, f"{index + 1}.00", video_id=video.id)
        expected_names[user.id] = {video.id: spring.name if index == 1 else default_name}
    await credit(pool, creators[2].id, "0.50")  # an adjustment: no video, no campaign

    connections = []
    original = pool.connection
    monkeypatch.setattr(pool, "connection", lambda *a, **k: connections.append(1) or original(*a, **k))
    balances = await asyncio.gather(*(reads.balance(user.id, 10) for user in creators))
    assert len(connections) == 1  # one connection for the three misses

    for index, (user, balance) in enumerate(zip(creators, balances, strict=True)):
        assert balance.stats.available == Decimal(index + 1) + (Decimal("0.50") if index == 2 else 0)
        assert balance.campaign_names() == expected_names[user.id]
        assert all(t.to_account == ledger.available_account(user.id) for t in balance.transfers)
        alone = CreatorReads(pool=pool, redis=reads.cache.client, prefix=f"{namespace}:alone:")
        assert balance == await alone.balance(user.id, 10)  # what a miss loaded by itself gives


async def test_a_batch_of_misses_that_cannot_get_a_connection_gives_up_at_its_timeout(
    database_url, redis_url, namespace, make_user
):
    user = await make_user()
    held_pool = await open_pool(database_url, min_size=1, max_size=1, name="test-held")
    client = Redis.from_url(redis_url)
    try:
        reads = CreatorReads(pool=held_pool, redis=client, prefix=f"{namespace}:held:", load_timeout=0.3)
        async with held_pool.connection():  # its only connection is taken
            with pytest.raises(TimeoutError):
                await reads.balance(user.id, 10)
        assert (await reads.balance(user.id, 10)).stats.available == Decimal("0")  # free again: loaded
    finally:
        await client.aclose()
        await held_pool.close()
