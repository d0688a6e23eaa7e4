"""The versioned read-through cache against the real Redis, in the test's own namespace."""

from __future__ import annotations

import asyncio
import json
import socket
from dataclasses import dataclass
from datetime import datetime, timezone
from decimal import Decimal

import pytest
from redis.asyncio import Redis

from zenith.storage.cache import Cache, dumps, revive
from zenith.telemetry.metrics import get_metrics


@pytest.fixture
async def clients(redis_url, namespace):
    """Redis clients made on demand (one per simulated process); the namespace is emptied afterwards."""
    made: list[Redis] = []

    def make() -> Redis:
        made.append(Redis.from_url(redis_url))
        return made[-1]

    yield make
    if made:
        keys = [k async for k in made[0].scan_iter(match=f"{namespace}:*")]
        if keys:
            await made[0].delete(*keys)
    for client in made:
        await client.aclose()


def _fills() -> float:
    return get_metrics().cache_fills.labels(cache="test")._value.get()


def _requests() -> dict[str, float]:
    counter = get_metrics().cache_requests
    return {result: counter.labels(cache="test", result=result)._value.get() for result in ("hit", "miss", "error")}


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass(frozen=True)
class Row:
    id: int
    amount: Decimal
    at: datetime
    note: str | None
    tags: list[str]


def test_dataclasses_round_trip_through_json_with_their_types():
    row = Row(id=7, amount=Decimal("10.50"), at=datetime(2026, 1, 1, 12, tzinfo=timezone.utc), note=None, tags=["a"])

    assert revive(Row, json.loads(dumps(row))) == row
    assert json.loads(dumps({"n": Decimal("0.10")})) == {"n": "0.10"}  # never a float
    with pytest.raises(TypeError):
        dumps(1.0j)


async def test_a_value_is_loaded_once_then_served_until_its_scope_is_bumped(clients, namespace):
    cache = Cache(clients(), prefix=f"{namespace}:cache:", ttl=30, name="test")
    loads = []

    async def load():
        loads.append(1)
        return {"balance": Decimal(len(loads))}

    before, fills = _requests(), _fills()
    assert await cache.read("creator:1", "stats", load) == {"balance": "1"}
    assert await cache.read("creator:1", "stats", load) == {"balance": "1"}
    assert await cache.read("creator:2", "stats", load) == {"balance": "2"}  # another scope, its own value
    assert len(loads) == 2
    after = _requests()
    assert {r: after[r] - before[r] for r in after} == {"hit": 1, "miss": 2, "error": 0}
    assert _fills() - fills == 2
    assert await cache.bump("creator:1") is True
    assert await cache.read("creator:1", "stats", load) == {"balance": "3"}
    assert await cache.read("creator:2", "stats", load) == {"balance": "2"}  # untouched by the bump
    keys = [k.decode() async for k in cache.client.scan_iter(match=f"{namespace}:cache:creator:1:*:stats")]
    assert keys and all([0 < await cache.client.ttl(k) <= 30 for k in keys])


async def test_a_fill_that_read_before_the_write_never_hides_the_write(clients, namespace):
    # the reader loads the old balance, the writer commits and bumps, then the reader stores:
    # the old value lands under the old token and the next read loads the new balance
    cache = Cache(clients(), prefix=f"{namespace}:cache:", ttl=30, name="test")
    balance = {"value": 100}
    loaded, release = asyncio.Event(), asyncio.Event()

    async def slow_load():
        seen = balance["value"]
        loaded.set()
        await release.wait()
        return seen

    reader = asyncio.create_task(cache.read("creator:9", "stats", slow_load))
    await loaded.wait()
    balance["value"] = 250  # the write commits ...
    await cache.bump("creator:9")  # ... then invalidates
    release.set()
    assert await reader == 100  # that reader saw the state before the write, as PostgreSQL did

    async def load():
        return balance["value"]

    assert await cache.read("creator:9", "stats", load) == 250


async def test_many_concurrent_misses_in_many_processes_fill_once(clients, namespace):
    # five clients stand for five processes (no shared in-process future): the Redis lock decides
    caches = [Cache(clients(), prefix=f"{namespace}:cache:", ttl=30, name="test") for _ in range(5)]
    loads = 0
    before = _fills()

    async def load():
        nonlocal loads
        loads += 1
        await asyncio.sleep(0.2)  # a slow query: every reader arrives while it runs
        return {"views": 12345}

    results = await asyncio.gather(*(caches[i % 5].read("creator:3", "stats", load) for i in range(100)))
    assert results == [{"views": 12345}] * 100
    assert loads == 1
    assert _fills() - before == 1


async def test_a_failing_load_reaches_every_waiter_and_is_not_cached(clients, namespace):
    cache = Cache(clients(), prefix=f"{namespace}:cache:", ttl=30, name="test")

    async def broken():
        await asyncio.sleep(0.05)
        raise LookupError("database said no")

    results = await asyncio.gather(
        *(cache.read("creator:4", "stats", broken) for _ in range(10)), return_exceptions=True
    )
    assert all(isinstance(r, LookupError) for r in results)

    async def load():
        return 1

    assert await cache.read("creator:4", "stats", load) == 1


async def test_with_redis_unreachable_reads_load_from_the_source_and_bumps_report_failure(namespace, caplog):
    client = Redis.from_url(f"redis://127.0.0.1:{closed_port()}/0", socket_connect_timeout=1)
    cache = Cache(client, prefix=f"{namespace}:cache:", ttl=30, name="test")
    loads = []

    async def load():
        loads.append(1)
        return {"available": Decimal("42.00")}

    errors = _requests()["error"]
    try:
        assert await cache.read("creator:5", "stats", load) == {"available": "42.00"}
        assert await cache.read("creator:5", "stats", load) == {"available": "42.00"}
        assert len(loads) == 2  # nothing to keep it in: every read goes to the source
        assert _requests()["error"] - errors == 2
        assert await cache.bump("creator:5") is False
    finally:
        await client.aclose()
    warnings = [r for r in caplog.records if r.name == "zenith.storage.cache"]
    assert warnings and all(r.levelname == "WARNING" for r in warnings)
    assert len([r for r in warnings if "reading from PostgreSQL" in r.getMessage()]) == 1  # once a minute, not per read


async def test_a_lost_scope_token_never_brings_back_older_values(clients, namespace):
    cache = Cache(clients(), prefix=f"{namespace}:cache:", ttl=30, name="test")
    value = {"n": 1}

    async def load():
        return value["n"]

    assert await cache.read("creator:6", "stats", load) == 1
    await cache.client.delete(cache.scope_key("creator:6"))  # evicted, or expired
    value["n"] = 2
    assert await cache.read("creator:6", "stats", load) == 2  # a new random token: a miss, not the old value
