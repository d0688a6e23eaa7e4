"""CPU per Bot API call: aiohttp's client (what a bare aiogram bot uses) against the
keep-alive client every Bot of the project uses (``zenith/platforms/keepalive_http.py``).

    PYTHONPATH=. .venv/bin/python benchmarks/http_client_cost.py [--requests 6000] [--concurrency 30] [--rounds 3]

A server in a child process answers every POST with a short sendMessage result; this
process posts a JSON body of a help-sized text ``--requests`` times, at most
``--concurrency`` at once, through each client in turn (one round = both clients), and
prints the CPU this process spent per request (``time.process_time``) and the requests/s.
The server's CPU is not counted: it is the same for both clients.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

import aiohttp
import orjson
import uvloop

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.round_trip_cost import free_port, wait_for_port  # noqa: E402
from zenith.platforms.keepalive_http import KeepAliveClient  # noqa: E402

PATH = "/bot1:bench/sendMessage"
BODY = orjson.dumps({"chat_id": 1, "text": "ℹ️ Help: send a link to a video. " * 20, "parse_mode": "HTML"})
SERVER = """
import sys
import orjson
from aiohttp import web

ANSWER = orjson.dumps({"ok": True, "result": {"message_id": 5, "date": 1, "chat": {"id": 1, "type": "private"}, "text": "ok"}})

async def handle(request):
    await request.read()
    return web.Response(body=ANSWER, content_type="application/json")

app = web.Application()
app.router.add_post("/{tail:.*}", handle)
web.run_app(app, host="127.0.0.1", port=int(sys.argv[1]), print=None)
"""


async def drive(post, requests: int, concurrency: int) -> tuple[float, float]:
    """(CPU us per request, requests/s) of ``requests`` calls of ``post()``, ``concurrency`` at once."""
    slots = asyncio.Semaphore(concurrency)

    async def one() -> None:
        async with slots:
            await post()

    await asyncio.gather(*(one() for _ in range(min(concurrency, requests))))  # connections opened, code warm
    cpu, wall = time.process_time(), time.perf_counter()
    await asyncio.gather(*(one() for _ in range(requests)))
    cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
    return cpu / requests * 1e6, requests / wall


async def with_aiohttp(url: str, requests: int, concurrency: int) -> tuple[float, float]:
    async with aiohttp.ClientSession() as session:

        async def post() -> None:
            async with session.post(url, data=BODY, headers={"Content-Type": "application/json"}) as response:
                if response.status != 200 or not (await response.text()).startswith('{"ok":true'):
                    raise RuntimeError(f"unexpected answer: {response.status}")

        return await drive(post, requests, concurrency)


async def with_keepalive(origin: str, requests: int, concurrency: int) -> tuple[float, float]:
    client = KeepAliveClient(origin, max_connections=concurrency)
    try:

        async def post() -> None:
            status, content = await client.post(PATH, BODY, content_type="application/json", timeout=10)
            if status != 200 or not content.decode().startswith('{"ok":true'):
                raise RuntimeError(f"unexpected answer: {status}")

        return await drive(post, requests, concurrency)
    finally:
        await client.close()


async def main(args: argparse.Namespace) -> None:
    port = free_port()
    server = subprocess.Popen([sys.executable, "-c", SERVER, str(port)], env={**os.environ})
    try:
        await wait_for_port(port)
        origin = f"http://127.0.0.1:{port}"
        figures: dict[str, list[float]] = {"aiohttp": [], "keep-alive": []}
        for round_number in range(1, args.rounds + 1):
            for name, measure in (("aiohttp", with_aiohttp), ("keep-alive", with_keepalive)):
                target = origin + PATH if name == "aiohttp" else origin
                cpu_us, rate = await measure(target, args.requests, args.concurrency)
                figures[name].append(cpu_us)
                print(
                    f"round {round_number}: {name:10} {cpu_us:7.1f} us CPU/request, {rate:8.1f} requests/s "
                    f"({args.requests} requests, {args.concurrency} at once); load average "
                    + " ".join(f"{x:.2f}" for x in os.getloadavg()),
                    flush=True,
                )
        ours, theirs = statistics.median(figures["keep-alive"]), statistics.median(figures["aiohttp"])
        print(
            f"RESULT CPU per request, median of {args.rounds} rounds: aiohttp {theirs:.1f} us, "
            f"keep-alive client {ours:.1f} us ({theirs / ours:.2f}x less)"
        )
    finally:
        server.terminate()
        server.wait(timeout=10)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=6000)
    parser.add_argument("--concurrency", type=int, default=30)
    parser.add_argument("--rounds", type=int, default=3)
    uvloop.run(main(parser.parse_args()))
