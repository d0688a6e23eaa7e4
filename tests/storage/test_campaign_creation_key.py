"""A campaign created with a creation key (migration 0196) exists once per key: a second
call, sequential or in a transaction racing the first, gets the first campaign back."""

from __future__ import annotations

import asyncio
import uuid

from zenith.domain.campaigns import CampaignTerms
from zenith.storage import campaigns, ledger
from zenith.storage.db import fetch_all, unit_of_work


async def _create(pool, key: str, name: str, *, hold_seconds: float = 0.0):
    async with unit_of_work(pool) as conn:
        result = await campaigns.create_once(
            conn, creation_key=key, name=name, terms=CampaignTerms(min_account_age_days=30, min_followers=1_000)
        )
        await asyncio.sleep(hold_seconds)  # keep the transaction open while the other one inserts
    return result


async def _rows(pool, key: str) -> list[dict]:
    async with pool.connection() as conn:
        return await fetch_all(conn, "SELECT id, name FROM campaigns WHERE creation_key = %s", (key,))


async def test_a_second_create_with_the_same_key_returns_the_first(pool):
    key = f"test:{uuid.uuid4().hex}"
    first, created = await _create(pool, key, "Once")
    again, created_again = await _create(pool, key, "Twice")
    assert (created, created_again) == (True, False)
    assert again.id == first.id and again.name == "Once"
    assert (first.min_account_age_days, first.min_followers, first.creation_key) == (30, 1_000, key)
    assert await _rows(pool, key) == [{"id": first.id, "name": "Once"}]
    async with pool.connection() as conn:
        found = await campaigns.find_by_creation_key(conn, key)
        assert found is not None and found.id == first.id
        assert await ledger.account_balance(conn, ledger.budget_account(first.id)) == 0
        assert await campaigns.find_by_creation_key(conn, f"test:{uuid.uuid4().hex}") is None


async def test_two_transactions_racing_on_one_key_insert_one_campaign(pool):
    key = f"test:{uuid.uuid4().hex}"
    results = await asyncio.gather(
        _create(pool, key, "Racer", hold_seconds=0.3), _create(pool, key, "Racer", hold_seconds=0.3)
    )
    assert sorted(created for _, created in results) == [False, True]
    assert results[0][0].id == results[1][0].id
    assert len(await _rows(pool, key)) == 1


async def test_campaigns_without_a_key_never_conflict(pool):
    async with unit_of_work(pool) as conn:
        one = await campaigns.create(conn, name="Keyless", terms=CampaignTerms())
        two = await campaigns.create(conn, name="Keyless", terms=CampaignTerms())
    assert one.id != two.id and one.creation_key is None
