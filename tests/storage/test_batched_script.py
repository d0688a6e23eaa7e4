"""A Lua script's calls of one loop turn sent as one pipeline, against the real Redis."""

from __future__ import annotations

import asyncio
import socket

import pytest
from redis.asyncio import Redis
from redis.exceptions import RedisError, ResponseError

from zenith.storage import turn_batch
from zenith.storage.batched_script import BatchedScript

# sets KEYS[1] to ARGV[1] and returns what was there; ARGV[1] == "boom" fails
SWAP = """
if ARGV[1] == 'boom' then return redis.error_reply('boom asked') end
local old = redis.call('GET', KEYS[1])
redis.call('SET', KEYS[1], ARGV[1], 'EX', 60)
return old
"""


@pytest.fixture
async def client(redis_url, namespace):
    redis = Redis.from_url(redis_url, decode_responses=True)
    pipelines = []
    original = redis.pipeline

    def counted(*args, **kwargs):
        pipelines.append(1)
        return original(*args, **kwargs)

    redis.pipeline = counted  # type: ignore[method-assign]
    redis.pipelines = pipelines  # type: ignore[attr-defined]
    yield redis
    keys = [key async for key in redis.scan_iter(match=f"{namespace}:*")]
    if keys:
        await redis.delete(*keys)
    await redis.aclose()


async def test_calls_of_one_turn_go_as_one_pipeline_and_each_gets_its_own_result(client, namespace):
    script = BatchedScript(client, SWAP)
    keys = [f"{namespace}:k{i}" for i in range(50)]
    await client.set(keys[7], "was-seven")
    await script(keys=[f"{namespace}:warm"], args=["w"])  # alone: loads the script, no pipeline

    results = await asyncio.gather(*(script(keys=[key], args=[f"v{i}"]) for i, key in enumerate(keys)))

    assert results[7] == "was-seven"
    assert [r for i, r in enumerate(results) if i != 7] == [None] * 49
    assert await client.mget(keys) == [f"v{i}" for i in range(50)]
    assert len(client.pipelines) == 1


async def test_a_call_alone_is_the_scripts_own_call(client, namespace):
    script = BatchedScript(client, SWAP)
    assert await script(keys=[f"{namespace}:alone"], args=["one"]) is None
    assert await script(keys=[f"{namespace}:alone"], args=["two"]) == "one"
    assert client.pipelines == []


async def test_a_burst_larger_than_a_batch_is_split(client, namespace, monkeypatch):
    monkeypatch.setattr(turn_batch, "MAX_BATCH", 8)
    script = BatchedScript(client, SWAP)
    await script(keys=[f"{namespace}:warm"], args=["w"])
    results = await asyncio.gather(*(script(keys=[f"{namespace}:b{i}"], args=["x"]) for i in range(20)))
    assert results == [None] * 20
    assert len(client.pipelines) == 3  # 8 + 8 + 4


async def test_one_failing_call_fails_only_its_caller(client, namespace):
    script = BatchedScript(client, SWAP)
    results = await asyncio.gather(
        script(keys=[f"{namespace}:a"], args=["fine"]),
        script(keys=[f"{namespace}:b"], args=["boom"]),
        script(keys=[f"{namespace}:c"], args=["fine"]),
        return_exceptions=True,
    )
    assert results[0] is None and results[2] is None
    assert isinstance(results[1], ResponseError) and "boom asked" in str(results[1])
    assert await client.get(f"{namespace}:a") == "fine"


async def test_scripts_flushed_from_redis_are_loaded_again_and_every_call_runs_once(client, namespace):
    script = BatchedScript(client, SWAP)
    await script(keys=[f"{namespace}:warm"], args=["w"])  # loaded
    await client.script_flush()

    keys = [f"{namespace}:f{i}" for i in range(10)]
    results = await asyncio.gather(*(script(keys=[key], args=["first"]) for key in keys))
    assert results == [None] * 10  # a call run twice would have returned "first"
    assert await client.mget(keys) == ["first"] * 10


async def test_a_cancelled_caller_leaves_the_others_their_results(client, namespace):
    script = BatchedScript(client, SWAP)
    calls = [asyncio.ensure_future(script(keys=[f"{namespace}:x{i}"], args=["v"])) for i in range(5)]
    await asyncio.sleep(0)  # queued
    calls[2].cancel()
    results = await asyncio.gather(*calls, return_exceptions=True)
    assert isinstance(results[2], asyncio.CancelledError)
    assert [results[i] for i in (0, 1, 3, 4)] == [None] * 4


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


async def test_with_redis_unreachable_every_caller_gets_a_redis_error():
    redis = Redis.from_url(f"redis://127.0.0.1:{_closed_port()}/0", socket_connect_timeout=0.5)
    script = BatchedScript(redis, SWAP)
    try:
        results = await asyncio.gather(*(script(keys=[f"k{i}"], args=["v"]) for i in range(4)), return_exceptions=True)
        assert all(isinstance(result, RedisError) for result in results), results
        with pytest.raises(RedisError):
            await script(keys=["alone"], args=["v"])
    finally:
        await redis.aclose()
