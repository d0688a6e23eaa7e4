"""Requests/s and latency of the HTTP API (/api/v1) of one web process on 127.0.0.1.

    PYTHONPATH=. .venv/bin/python benchmarks/api_throughput.py [--target stats|videos|video]
        [--connections 32] [--seconds 10] [--runs 3] [--users 50000] [--redis-url ...]

Loads a throwaway database (``benchmarks.scale_data``: ``--users`` creators, as many
videos with 2 snapshots each), creates one admin API key with a limit no run reaches,
starts the real web process (``python -m zenith web``, default pool, no webhook) and
calls it from ``--connections`` keep-alive aiohttp connections for ``--seconds`` a run,
each request for a random creator or video:

- ``stats``:  ``GET /api/v1/creators/{id}/stats`` (key lookup, rate-limit INCR, one
  REPEATABLE READ snapshot of counts and ledger sums);
- ``videos``: ``GET /api/v1/creators/{id}/videos?limit=20``;
- ``video``:  ``GET /api/v1/videos/{id}`` (the video and its views history).

The load generator runs in this process on the same 2 cores as the server. Prints
requests/s, p50/p90/p99 and non-2xx answers per run and the median run, with the load
average. Stops the web process, deletes the namespace's Redis keys, drops the database.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import statistics
import subprocess
import sys
import time
import uuid
from pathlib import Path

import aiohttp
import psycopg
import redis

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.scale_data import load_average, scale_database  # noqa: E402
from benchmarks.web_throughput import free_port  # noqa: E402
from zenith.domain.api_keys import hash_key, key_id_of, new_key  # noqa: E402
from zenith.sandbox.runner import start_sandbox  # noqa: E402

REPO_ROOT = Path(__file__).resolve().parents[1]


def create_key(url: str) -> str:
    """An admin key stored the way ``zenith apikey create`` stores one."""
    key = new_key()
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(
            "INSERT INTO api_keys (key_id, key_hash, name, scope, rate_limit_per_minute) VALUES (%s, %s, 'bench', 'admin', 1000000)",
            (key_id_of(key), hash_key(key)),
        )
    return key


def id_ranges(url: str) -> tuple[int, int]:
    with psycopg.connect(url) as conn:
        users = conn.execute("SELECT max(id) FROM users").fetchone()[0]
        videos = conn.execute("SELECT max(id) FROM videos").fetchone()[0]
    return users, videos


async def run_load(
    base: str, *, target: str, key: str, connections: int, seconds: int, max_user: int, max_video: int
) -> dict:
    latencies: list[float] = []
    non2xx = 0
    deadline = time.perf_counter() + seconds
    headers = {"Authorization": f"Bearer {key}"}

    def path() -> str:
        if target == "video":
            return f"/api/v1/videos/{random.randint(1, max_video)}"
        creator = random.randint(1, max_user)
        return (
            f"/api/v1/creators/{creator}/stats" if target == "stats" else f"/api/v1/creators/{creator}/videos?limit=20"
        )

    async def worker(session: aiohttp.ClientSession) -> None:
        nonlocal non2xx
        while time.perf_counter() < deadline:
            started = time.perf_counter()
            async with session.get(base + path(), headers=headers) as response:
                await response.read()
            latencies.append((time.perf_counter() - started) * 1000)
            non2xx += response.status >= 300

    started = time.perf_counter()
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=connections)) as session:
        await asyncio.gather(*(worker(session) for _ in range(connections)))
    ordered = sorted(latencies)
    pick = lambda share: ordered[min(len(ordered) - 1, int(share * len(ordered)))]  # noqa: E731
    return {
        "rps": len(latencies) / (time.perf_counter() - started),
        "requests": len(latencies),
        "non2xx": non2xx,
        "p50": pick(0.5),
        "p90": pick(0.9),
        "p99": pick(0.99),
    }


async def wait_until_ready(base: str, web: subprocess.Popen, *, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    async with aiohttp.ClientSession() as session:
        while True:
            if web.poll() is not None:
                raise SystemExit(f"the web process exited with {web.returncode}")
            try:
                async with session.get(base + "/readyz") as response:
                    if response.status == 200:
                        return
            except aiohttp.ClientError:
                pass
            if time.monotonic() > deadline:
                raise SystemExit(f"the web process was not ready within {timeout} s")
            await asyncio.sleep(0.2)


async def measure(url: str, args) -> None:
    namespace = f"bench-{uuid.uuid4().hex[:8]}"
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    key = create_key(url)
    max_user, max_video = id_ranges(url)
    web = None
    try:
        async with start_sandbox() as sandbox:
            env = {
                **os.environ,
                "PYTHONPATH": str(REPO_ROOT),
                "DATABASE_URL": url,
                "REDIS_URL": args.redis_url,
                "REDIS_NAMESPACE": namespace,
                "TELEGRAM_BOT_TOKEN": sandbox.token,
                "TELEGRAM_API_URL": sandbox.url,
                "PORT": str(port),
                "LOG_LEVEL": "ERROR",
                "OTEL_EXPORTER_OTLP_ENDPOINT": "",
            }
            web = subprocess.Popen([sys.executable, "-m", "zenith", "web"], cwd=REPO_ROOT, env=env)
            await wait_until_ready(base, web)
            results = []
            for run in range(1, args.runs + 1):
                before = load_average()
                result = await run_load(
                    base,
                    target=args.target,
                    key=key,
                    connections=args.connections,
                    seconds=args.seconds,
                    max_user=max_user,
                    max_video=max_video,
                )
                results.append(result)
                print(
                    f"run {run}: {args.target} {result['rps']:.0f} req/s, p50 {result['p50']:.1f} ms, p90 {result['p90']:.1f} ms, "
                    f"p99 {result['p99']:.1f} ms, {result['requests']} requests, {result['non2xx']} non-2xx; "
                    f"load avg {before} -> {load_average()}",
                    flush=True,
                )
            median = sorted(results, key=lambda r: r["rps"])[len(results) // 2]
            print(
                f"median run: {median['rps']:.0f} req/s, p50 {median['p50']:.1f} ms, p99 {median['p99']:.1f} ms "
                f"(p50 spread {statistics.pstdev([r['p50'] for r in results]):.1f} ms)"
            )
    finally:
        if web is not None and web.poll() is None:
            web.terminate()
            web.wait(timeout=30)
        client = redis.Redis.from_url(args.redis_url)
        for name in client.scan_iter(match=f"{namespace}:*", count=1000):
            client.delete(name)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--target", choices=("stats", "videos", "video"), default="stats")
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--users", type=int, default=50_000)
    parser.add_argument("--redis-url", default=os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/0"))
    args = parser.parse_args()
    if args.seconds > 50 or args.connections > 256 or args.runs > 5:
        parser.error("keep runs bounded: --seconds <= 50, --connections <= 256, --runs <= 5")
    print(f"loading: {args.users} users ...", flush=True)
    with scale_database(users=args.users, videos=max(5_000, args.users), snapshots_per_video=2) as db:
        print(f"loaded in {sum(db.seconds.values()):.1f} s; load average {load_average()}", flush=True)
        asyncio.run(measure(db.url, args))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
