"""What one round trip to Redis, PostgreSQL or an HTTP server costs a Python process here, in CPU.

    PYTHONPATH=. .venv/bin/python benchmarks/round_trip_cost.py [--calls 3000] [--rounds 3]
        [--redis-url redis://127.0.0.1:6379/0]

The bot's and the workers' budgets per update and per video are counted in round trips:
an update the bot answers is at least the Bot API call, plus whatever Redis and PostgreSQL
calls it makes on the way. On a virtual machine where every system call and every wake-up
of another process is dear, a round trip can cost the calling process more CPU than the
Python code around it. This script prints that cost, measured the way the service calls
(asyncio on uvloop, redis-py, psycopg, aiohttp), one call after the other:

* ``redis GET`` and ``redis EVALSHA`` (a one-line Lua script), one call per round trip;
* ``redis GET, pipelined by 100``: the same commands, 100 per round trip (per command);
* ``postgres SELECT`` (prepared, on one autocommit connection) and ``postgres pool + SELECT``
  (a psycopg_pool connection taken and given back around each, as the storage code does);
* ``http POST``: aiohttp's client posting a small JSON body to an aiohttp server in another
  process (as the bot posts to the Bot API), keep-alive.

Prints, per kind, the median over ``--rounds`` of the CPU time of this process per call
(``time.process_time``; the other side's CPU is not in it) and of the wall time per call.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import socket
import statistics
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

import aiohttp
import psycopg
import uvloop
from psycopg_pool import AsyncConnectionPool
from redis.asyncio import Redis

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.conftest import ADMIN_DATABASE_URL  # noqa: E402

PIPELINE = 100

# the HTTP side: a bare aiohttp server answering every POST with a small JSON body
SERVER = """
import sys
from aiohttp import web

async def answer(request):
    await request.read()
    return web.json_response({"ok": True, "result": {"message_id": 1}})

app = web.Application()
app.router.add_post("/{tail:.*}", answer)
web.run_app(app, host="127.0.0.1", port=int(sys.argv[1]), print=None)
"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


async def wait_for_port(port: int, *, timeout: float = 15) -> None:
    deadline = time.monotonic() + timeout
    while True:
        try:
            _, writer = await asyncio.open_connection("127.0.0.1", port)
        except OSError:
            if time.monotonic() > deadline:
                raise SystemExit(f"the HTTP server did not listen on {port}") from None
            await asyncio.sleep(0.05)
            continue
        writer.close()
        return


async def measure(call: Callable[[], Awaitable[object]], *, calls: int, per_call: int = 1) -> tuple[float, float]:
    """(CPU µs, wall µs) per unit: ``calls`` awaited one after the other, each doing ``per_call`` units."""
    for _ in range(min(calls, 50)):  # warm: connections open, statements prepared
        await call()
    cpu, wall = time.process_time(), time.perf_counter()
    for _ in range(calls):
        await call()
    units = calls * per_call
    return (time.process_time() - cpu) / units * 1e6, (time.perf_counter() - wall) / units * 1e6


async def run(args) -> None:
    redis = Redis.from_url(args.redis_url)
    key = f"bench-rtt-{os.getpid()}"
    await redis.set(key, "1", ex=600)
    script = redis.register_script("return redis.call('GET', KEYS[1])")

    async def pipelined() -> None:
        async with redis.pipeline(transaction=False) as pipe:
            for _ in range(PIPELINE):
                pipe.get(key)
            await pipe.execute()

    url = ADMIN_DATABASE_URL  # the statement reads no table: any database answers it
    conn = await psycopg.AsyncConnection.connect(url, autocommit=True)
    pool = AsyncConnectionPool(url, min_size=1, max_size=2, open=False, kwargs={"autocommit": True})
    await pool.open(wait=True)

    async def select() -> None:
        cursor = await conn.execute("SELECT %s::int + 1", (1,), prepare=True)
        await cursor.fetchone()

    async def pool_select() -> None:
        async with pool.connection() as pooled:
            cursor = await pooled.execute("SELECT %s::int + 1", (1,), prepare=True)
            await cursor.fetchone()

    port = free_port()
    server = subprocess.Popen([sys.executable, "-c", SERVER, str(port)])
    try:
        await wait_for_port(port)
        async with aiohttp.ClientSession() as http:

            async def post() -> None:
                async with http.post(
                    f"http://127.0.0.1:{port}/bot1/sendMessage", json={"chat_id": 1, "text": "hi"}
                ) as r:
                    await r.read()

            kinds: list[tuple[str, Callable[[], Awaitable[object]], int, int]] = [
                ("redis GET", lambda: redis.get(key), args.calls, 1),
                ("redis EVALSHA", lambda: script(keys=[key]), args.calls, 1),
                (f"redis GET, pipelined by {PIPELINE}", pipelined, max(1, args.calls // PIPELINE), PIPELINE),
                ("postgres SELECT", select, args.calls, 1),
                ("postgres pool + SELECT", pool_select, args.calls, 1),
                ("http POST", post, args.calls, 1),
            ]
            print(f"{'round trip':<32} {'CPU us/call':>12} {'wall us/call':>13}   ({args.rounds} rounds, median)")
            for name, call, calls, per_call in kinds:
                figures = [await measure(call, calls=calls, per_call=per_call) for _ in range(args.rounds)]
                cpu = statistics.median(f[0] for f in figures)
                wall = statistics.median(f[1] for f in figures)
                print(f"{name:<32} {cpu:>12.1f} {wall:>13.1f}")
    finally:
        server.terminate()
        server.wait(timeout=10)
        await pool.close()
        await conn.close()
        await redis.delete(key)
        await redis.aclose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--calls", type=int, default=3000, help="calls per kind and round")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--redis-url", default=os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0"))
    args = parser.parse_args()
    uvloop.run(run(args))


if __name__ == "__main__":
    main()
