"""Throughput of concurrent earning credits through the ledger, on a throwaway database.

    .venv/bin/python benchmarks/ledger_throughput.py [--users 2000] [--concurrency 16] [--seconds 10]
        [--count N] [--admin-url postgresql://postgres@127.0.0.1:5432/postgres]

Creates its own database (same approach as tests/conftest.py), applies the migrations,
creates ``--users`` users with their ledger accounts, then runs ``--concurrency`` asyncio
tasks, each holding its own pooled connection, crediting random users
(``ledger.credit_earning`` in ``unit_of_work``) for ``--seconds`` (or ``--count`` credits
in all). Prints credits/s, p50/p95/max latency of one credit transaction, how often the
benchmark's backends were seen waiting on a lock (pg_stat_activity sampled every 50 ms)
and the deadlocks PostgreSQL counted, checks the books with ``check_ledger`` and drops
the database. The admin URL defaults to ``$TEST_ADMIN_DATABASE_URL``.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import statistics
import time
import uuid
from collections import Counter
from decimal import Decimal

import psycopg

from zenith.storage import ledger
from zenith.storage.db import connect, fetch_all, fetch_one, open_pool, unit_of_work
from zenith.storage.ledger_check import check_ledger
from zenith.storage.migrate import apply_migrations

DEFAULT_ADMIN_URL = os.environ.get("TEST_ADMIN_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
SAMPLE_EVERY = 0.05


def create_database(admin_url: str) -> str:
    """Create an empty database with a unique name and return its URL."""
    name = f"zenith_bench_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    return f"{admin_url.rpartition('/')[0]}/{name}"


def drop_database(admin_url: str, url: str) -> None:
    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{url.rpartition("/")[2]}" WITH (FORCE)')


async def create_users(url: str, *, count: int) -> list[int]:
    """``count`` users with their available/reserved accounts, in one transaction."""
    async with connect(url) as conn:
        async with conn.transaction():
            rows = await fetch_all(
                conn,
                "INSERT INTO users (telegram_id) SELECT g FROM generate_series(1, %s) AS g RETURNING id",
                (count,),
            )
            ids = [row["id"] for row in rows]
            await conn.execute(
                """
                INSERT INTO ledger_accounts (key, user_id)
                SELECT 'user:' || id || ':' || side, id FROM unnest(%s::bigint[]) AS id,
                       unnest(ARRAY['available', 'reserved']) AS side
                """,
                (ids,),
            )
        await conn.execute("ANALYZE")
    return ids


async def sample_lock_waits(url: str, stop: asyncio.Event, seen: Counter) -> None:
    """Count, every SAMPLE_EVERY s, the benchmark's backends that are active or waiting on a lock."""
    name = url.rpartition("/")[2]
    async with connect(url) as conn:
        while not stop.is_set():
            for row in await fetch_all(
                conn,
                """
                SELECT coalesce(wait_event_type, 'CPU') AS wait_type, wait_event
                  FROM pg_stat_activity
                 WHERE datname = %s AND state = 'active' AND pid <> pg_backend_pid()
                """,
                (name,),
            ):
                seen["active"] += 1
                if row["wait_type"] == "Lock":
                    seen["lock"] += 1
                    seen[f"lock:{row['wait_event']}"] += 1
            seen["samples"] += 1
            try:
                await asyncio.wait_for(stop.wait(), SAMPLE_EVERY)
            except asyncio.TimeoutError:
                pass


async def run(*, url: str, users: int, concurrency: int, seconds: float, count: int | None) -> dict:
    user_ids = await create_users(url, count=users)
    pool = await open_pool(url, min_size=concurrency, max_size=concurrency, name="bench")
    latencies: list[float] = []
    errors: Counter = Counter()
    issued = 0
    stop_sampling = asyncio.Event()
    locks: Counter = Counter()
    try:
        async with connect(url) as conn:
            deadlocks_before = (
                await fetch_one(conn, "SELECT deadlocks FROM pg_stat_database WHERE datname = current_database()")
            )["deadlocks"]
        started = time.perf_counter()
        deadline = started + seconds

        async def worker(number: int) -> None:
            nonlocal issued
            rng = random.Random(number)
            while True:
                if count is not None:
                    if issued >= count:
                        return
                elif time.perf_counter() >= deadline:
                    return
                issued += 1
                key = f"bench:{number}:{issued}"
                amount = Decimal(rng.randint(1, 500)) / 100
                begun = time.perf_counter()
                try:
                    async with unit_of_work(pool) as conn:
                        await ledger.credit_earning(
                            conn, user_id=rng.choice(user_ids), amount=amount, idempotency_key=key
                        )
                except psycopg.Error as exc:
                    errors[type(exc).__name__] += 1
                    continue
                latencies.append(time.perf_counter() - begun)

        sampler = asyncio.create_task(sample_lock_waits(url, stop_sampling, locks))
        await asyncio.gather(*(worker(n) for n in range(concurrency)))
        elapsed = time.perf_counter() - started
        stop_sampling.set()
        await sampler
        async with connect(url) as conn:
            deadlocks_after = (
                await fetch_one(conn, "SELECT deadlocks FROM pg_stat_database WHERE datname = current_database()")
            )["deadlocks"]
            transfers = (await fetch_one(conn, "SELECT count(*) AS n FROM ledger_transfers"))["n"]
            async with conn.transaction():
                await conn.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ READ ONLY")
                problems = await check_ledger(conn)
    finally:
        stop_sampling.set()
        await pool.close()
    latencies.sort()
    return {
        "credits": len(latencies),
        "elapsed": elapsed,
        "rate": len(latencies) / elapsed,
        "p50": statistics.median(latencies) if latencies else float("nan"),
        "p95": latencies[int(len(latencies) * 0.95)] if latencies else float("nan"),
        "max": latencies[-1] if latencies else float("nan"),
        "errors": dict(errors),
        "deadlocks": deadlocks_after - deadlocks_before,
        "locks": locks,
        "transfers": transfers,
        "problems": problems,
    }


def report(result: dict, *, concurrency: int) -> None:
    locks = result["locks"]
    active = locks["active"] or 1
    waiting = {k.split(":", 1)[1]: v for k, v in locks.items() if k.startswith("lock:")}
    print(f"credits:     {result['credits']} in {result['elapsed']:.1f} s with {concurrency} connections")
    print(f"throughput:  {result['rate']:.0f} credits/s")
    print(
        f"latency:     p50 {result['p50'] * 1000:.1f} ms, p95 {result['p95'] * 1000:.1f} ms, max {result['max'] * 1000:.1f} ms"
    )
    print(
        f"lock waits:  {locks['lock']} of {locks['active']} active-backend samples ({100 * locks['lock'] / active:.0f} %)"
        f" over {locks['samples']} samples {dict(waiting) or ''}"
    )
    print(f"deadlocks:   {result['deadlocks']}; failed credits: {result['errors'] or 0}")
    print(f"ledger:      {result['transfers']} transfers, check_ledger: {result['problems'] or 'clean'}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--users", type=int, default=2000)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--count", type=int, default=None, help="stop after this many credits instead of --seconds")
    parser.add_argument("--admin-url", default=DEFAULT_ADMIN_URL)
    args = parser.parse_args()
    url = create_database(args.admin_url)
    try:
        asyncio.run(apply_migrations(url))
        result = asyncio.run(
            run(url=url, users=args.users, concurrency=args.concurrency, seconds=args.seconds, count=args.count)
        )
    finally:
        drop_database(args.admin_url, url)
    report(result, concurrency=args.concurrency)


if __name__ == "__main__":
    main()
