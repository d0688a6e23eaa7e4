"""Redis cache helper against the real Redis, in the test's own namespace."""

from __future__ import annotations

from datetime import datetime, timezone
from decimal import Decimal

import pytest

from zenith.storage.cache import Cache


@pytest.fixture
async def cache(redis_url, namespace):
    c = Cache.from_url(redis_url, prefix=f"{namespace}:cache:", default_ttl=30)
    yield c
    await c.client.delete(*[k async for k in c.client.scan_iter(match=f"{namespace}:*")] or [f"{namespace}:none"])
    await c.close()


async def test_values_round_trip_with_decimal_as_string_and_ttl(cache):
    when = datetime(2026, 1, 1, tzinfo=timezone.utc)
    await cache.set("balance:1", {"available": Decimal("10.50"), "at": when})
    assert await cache.get("balance:1") == {"available": "10.50", "at": "2026-01-01T00:00:00+00:00"}
    assert 0 < await cache.client.ttl(cache.key("balance:1")) <= 30
    await cache.set("short", 1, ttl=5)
    assert 0 < await cache.client.ttl(cache.key("short")) <= 5
    assert await cache.delete("balance:1", "short") == 2
    assert await cache.get("balance:1") is None
    with pytest.raises(TypeError):
        await cache.set("bad", 1.0j)


async def test_get_or_set_loads_once(cache):
    calls = []

    async def load():
        calls.append(1)
        return {"rate": Decimal("96.25")}

    assert await cache.get_or_set("rate:USDT", load) == {"rate": "96.25"}
    assert await cache.get_or_set("rate:USDT", load) == {"rate": "96.25"}
    assert len(calls) == 1
