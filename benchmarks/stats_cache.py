"""Reading a creator's stats with the Redis cache on and off, side by side, at 50,000 creators.

    PYTHONPATH=. .venv/bin/python benchmarks/stats_cache.py [--users 50000] [--videos 500000]
        [--seconds 10] [--concurrency 32] [--pool 10] [--hot 5000] [--redis-url redis://127.0.0.1:6379/0]

Loads a throwaway database (``benchmarks.scale_data``), then, in one process and one run,
reads ``creator_stats(user_id)`` for ``--seconds`` per mode with ``--concurrency``
concurrent readers on one pool of ``--pool`` connections:

- ``off``: ``storage.creator_stats.creator_stats`` straight from PostgreSQL (what every /balance cost before);
- ``on, cold``: ``CreatorReads.creator_stats`` on an empty cache, creators drawn from all
  ``--users`` (most reads miss and fill);
- ``on, warm``: the same once each of the ``--hot`` most active creators was read, creators
  drawn from them (what a bot sees: the creators looking at their balance right now).

``off`` draws its creators the same way as ``on, warm``, so the two differ only by the
cache. Every 50th read of the cached modes is preceded by a credit-like invalidation of
that creator (``invalidate``), so fills keep happening. Prints reads/s, p50/p99 latency
in ms, the cache's hit ratio and the load average per mode. Deletes its Redis keys and
drops the database.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import statistics
import sys
import time
import uuid
from pathlib import Path

from redis.asyncio import Redis

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.scale_data import load_average, scale_database  # noqa: E402
from zenith.storage.creator_reads import CreatorReads  # noqa: E402
from zenith.storage.creator_stats import creator_stats  # noqa: E402
from zenith.storage.db import open_pool  # noqa: E402
from zenith.telemetry.metrics import get_metrics  # noqa: E402

INVALIDATE_EVERY = 50


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def _hits() -> tuple[float, float]:
    counter = get_metrics().cache_requests
    return counter.labels(cache="creator", result="hit")._value.get(), counter.labels(
        cache="creator", result="miss"
    )._value.get()


async def _drive(read, *, pick, seconds: float, concurrency: int, invalidate=None) -> list[float]:
    latencies: list[float] = []
    deadline = time.perf_counter() + seconds

    async def reader() -> None:
        n = 0
        while time.perf_counter() < deadline:
            user_id = pick()
            n += 1
            if invalidate is not None and n % INVALIDATE_EVERY == 0:
                await invalidate(user_id)
            started = time.perf_counter()
            await read(user_id)
            latencies.append(time.perf_counter() - started)

    await asyncio.gather(*(reader() for _ in range(concurrency)))
    return latencies


async def _fill_each(reads: CreatorReads, user_ids) -> None:
    for user_id in user_ids:  # one iterator shared by the workers: each id once
        await reads.creator_stats(user_id)


def _row(mode: str, latencies: list[float], seconds: float, hit_ratio: str) -> str:
    ms = [x * 1000 for x in latencies]
    return (
        f"{mode:<10} {len(ms) / seconds:>10,.0f} {statistics.median(ms):>9.2f} {_percentile(ms, 0.99):>9.2f}"
        f" {hit_ratio:>9}   {load_average()}"
    )


def main(args: argparse.Namespace) -> None:
    with scale_database(users=args.users, videos=args.videos, snapshots_per_video=1) as db:
        print(f"database: {db.counts} loaded in {sum(db.seconds.values()):.1f} s")
        asyncio.run(measure(db.url, args))


async def measure(url: str, args: argparse.Namespace) -> None:
    pool = await open_pool(url, min_size=args.pool, max_size=args.pool, name="bench")
    redis = Redis.from_url(args.redis_url)
    prefix = f"bench-{uuid.uuid4().hex[:8]}:cache:"
    reads = CreatorReads(pool=pool, redis=redis, prefix=prefix, ttl=300)
    everyone = lambda: random.randint(1, args.users)  # noqa: E731
    hot = lambda: random.randint(1, min(args.hot, args.users))  # noqa: E731

    async def uncached(user_id: int):
        async with pool.connection() as conn:
            return await creator_stats(conn, user_id)

    try:
        await _drive(uncached, pick=hot, seconds=1, concurrency=args.concurrency)  # connections and plans warm
        rows = [f"{'mode':<10} {'reads/s':>10} {'p50 ms':>9} {'p99 ms':>9} {'hit %':>9}   load average"]
        latencies = await _drive(uncached, pick=hot, seconds=args.seconds, concurrency=args.concurrency)
        rows.append(_row("off", latencies, args.seconds, "-"))
        for mode, pick in (("on, cold", everyone), ("on, warm", hot)):
            if mode == "on, warm":  # every hot creator read once: their stats are in Redis
                hot_ids = iter(range(1, min(args.hot, args.users) + 1))
                await asyncio.gather(*(_fill_each(reads, hot_ids) for _ in range(args.concurrency)))
            hits0, misses0 = _hits()
            latencies = await _drive(
                reads.creator_stats,
                pick=pick,
                seconds=args.seconds,
                concurrency=args.concurrency,
                invalidate=reads.invalidate,
            )
            hits, misses = _hits()
            ratio = (hits - hits0) / max(1.0, (hits - hits0) + (misses - misses0))
            rows.append(_row(mode, latencies, args.seconds, f"{ratio:.1%}"))
        print(
            f"creator_stats, {args.users:,} creators, {args.concurrency} readers, pool {args.pool}, {args.seconds:g} s per mode"
        )
        print("\n".join(rows))
    finally:
        keys = [k async for k in redis.scan_iter(match=f"{prefix}*", count=1000)]
        for start in range(0, len(keys), 1000):
            await redis.delete(*keys[start : start + 1000])
        await redis.aclose()
        await pool.close()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--users", type=int, default=50_000)
    parser.add_argument("--videos", type=int, default=500_000)
    parser.add_argument("--seconds", type=float, default=10)
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--pool", type=int, default=10)
    parser.add_argument("--hot", type=int, default=5_000)
    parser.add_argument("--redis-url", default="redis://127.0.0.1:6379/0")
    main(parser.parse_args())
