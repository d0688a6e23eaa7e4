"""Requests/s and latency of the web process (webhook with its secret, /healthz) on 127.0.0.1.

    PYTHONPATH=. .venv/bin/python benchmarks/web_throughput.py [--target cheap|help|healthz]
        [--connections 32] [--seconds 10] [--runs 3] [--users 50000] [--redis-url ...]

Loads a throwaway database (``benchmarks.scale_data``, ``--users`` registered creators),
serves the Bot API sandbox on this process's loop (the web process registers its webhook
there and sends its replies there), starts the real web process as a subprocess
(``python -m zenith web`` with WEBHOOK_URL / WEBHOOK_SECRET, default pool), and drives it
with ``wrk`` (Debian package ``wrk``; one thread, ``--connections`` keep-alive
connections, ``--seconds`` per run) or, without wrk, an aiohttp client with the same
bounds. Targets:

- ``healthz``: ``GET /healthz`` (a PostgreSQL ``SELECT 1`` and a Redis ``PING``).
- ``cheap``: webhook POSTs of ``edited_message`` updates from registered creators, each
  with a new update_id: secret check, Update parsing, the de-duplication ``SET NX`` in
  Redis; no handler takes them, so nothing else happens.
- ``help``: webhook POSTs of ``/help`` messages from registered creators (cycling through
  all of them, so the per-user throttle never triggers): the webhook answers at once and
  the update is handled in the background (throttle, user row, reply via sendMessage).
  Also prints how many real answers reached the sandbox, the rate they were produced
  at (what the process sustains; accepted requests above it pile up), and how many
  updates were answered with the "something went wrong"/"busy" text instead.

Prints requests/s, latency percentiles and non-2xx answers per run and the median run,
with the load average. Stops the web process, deletes the namespace's Redis keys and
drops the database.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

import aiohttp
import redis

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.scale_data import TELEGRAM_ID_BASE, ScaleDatabase, load_average, scale_database  # noqa: E402
from zenith.i18n import translate  # noqa: E402
from zenith.sandbox.runner import start_sandbox  # noqa: E402

REPO_ROOT = Path(__file__).resolve().parents[1]
SECRET = "bench-" + uuid.uuid4().hex
WEBHOOK_PATH = "/telegram/webhook"
# replies that mean the update failed: the errors router's and the throttle's
FAILURE_TEXTS = {
    translate(lang, key) for lang in ("ru", "en") for key in ("common.error", "common.busy", "common.slow_down")
}

# wrk request generator: a new update_id per request, senders cycling through the users.
WRK_SCRIPT = """
local counter = %(first)d
local users = %(users)d
local kind = "%(kind)s"
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.headers["X-Telegram-Bot-Api-Secret-Token"] = "%(secret)s"
request = function()
  counter = counter + 1
  local uid = %(base)d + 101 + (counter %% (users - 200))
  local msg = '{"message_id":' .. counter .. ',"date":1700000000,"chat":{"id":' .. uid ..
    ',"type":"private","first_name":"Creator"},"from":{"id":' .. uid ..
    ',"is_bot":false,"first_name":"Creator"},"text":"' .. (kind == "help" and "/help" or "edited") .. '"' ..
    (kind == "help" and ',"entities":[{"type":"bot_command","offset":0,"length":5}]' or '') .. ',"edit_date":1700000001}'
  local field = kind == "help" and "message" or "edited_message"
  return wrk.format(nil, nil, nil, '{"update_id":' .. counter .. ',"' .. field .. '":' .. msg .. '}')
end
"""


def update_body(counter: int, *, kind: str, users: int) -> dict:
    """The same update the wrk script sends (for the aiohttp fallback)."""
    uid = TELEGRAM_ID_BASE + 101 + counter % (users - 200)
    message = {
        "message_id": counter,
        "date": 1_700_000_000,
        "chat": {"id": uid, "type": "private", "first_name": ScaleDatabase.first_name(uid)},
        "from": {"id": uid, "is_bot": False, "first_name": ScaleDatabase.first_name(uid)},
        "edit_date": 1_700_000_001,
    }
    if kind == "help":
        message.update(text="/help", entities=[{"type": "bot_command", "offset": 0, "length": 5}])
        return {"update_id": counter, "message": message}
    return {"update_id": counter, "edited_message": {**message, "text": "edited"}}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def parse_wrk(output: str) -> dict:
    """Requests/s, latency percentiles (ms) and non-2xx count from ``wrk --latency``."""

    def ms(value: str) -> float:
        number, unit = re.match(r"([\d.]+)(\w+)", value).groups()
        return float(number) * {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60000.0}[unit]

    result = {
        "rps": float(re.search(r"Requests/sec:\s+([\d.]+)", output).group(1)),
        "requests": int(re.search(r"(\d+) requests in", output).group(1)),
        "non2xx": int(m.group(1)) if (m := re.search(r"Non-2xx or 3xx responses: (\d+)", output)) else 0,
        "errors": re.search(r"Socket errors:.*", output).group(0) if "Socket errors" in output else "",
    }
    for share in ("50", "90", "99"):
        result[f"p{share}"] = ms(re.search(rf"^\s+{share}(?:\.000)?%\s+(\S+)", output, re.M).group(1))
    return result


async def run_wrk(url: str, *, target: str, connections: int, seconds: int, first: int, users: int) -> dict:
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as script:
        script.write(
            WRK_SCRIPT % {"first": first, "users": users, "kind": target, "secret": SECRET, "base": TELEGRAM_ID_BASE}
        )
    try:
        command = ["wrk", "-t1", f"-c{connections}", f"-d{seconds}s", "--latency", "--timeout", "5s"]
        if target != "healthz":
            command += ["-s", script.name]
        process = await asyncio.create_subprocess_exec(*command, url, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        out, err = await asyncio.wait_for(process.communicate(), timeout=seconds + 30)
        if process.returncode != 0:
            raise SystemExit(f"wrk failed: {err.decode()}")
        return parse_wrk(out.decode())
    finally:
        os.unlink(script.name)


async def run_aiohttp(url: str, *, target: str, connections: int, seconds: int, first: int, users: int) -> dict:
    """The same bounded load without wrk: ``connections`` workers, ``seconds`` long."""
    latencies: list[float] = []
    non2xx = 0
    counter = first
    deadline = time.perf_counter() + seconds
    headers = {"X-Telegram-Bot-Api-Secret-Token": SECRET}

    async def worker(session: aiohttp.ClientSession) -> None:
        nonlocal counter, non2xx
        while time.perf_counter() < deadline:
            counter += 1
            started = time.perf_counter()
            if target == "healthz":
                response = await session.get(url)
            else:
                response = await session.post(url, json=update_body(counter, kind=target, users=users), headers=headers)
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
        "errors": "",
        "p50": pick(0.5),
        "p90": pick(0.9),
        "p99": pick(0.99),
    }


def start_web(
    db: ScaleDatabase, *, port: int, sandbox_url: str, token: str, redis_url: str, namespace: str
) -> subprocess.Popen:
    env = {
        **os.environ,
        "PYTHONPATH": str(REPO_ROOT),
        "DATABASE_URL": db.url,
        "REDIS_URL": redis_url,
        "REDIS_NAMESPACE": namespace,
        "TELEGRAM_BOT_TOKEN": token,
        "TELEGRAM_API_URL": sandbox_url,
        "PORT": str(port),
        "WEBHOOK_URL": f"http://127.0.0.1:{port}{WEBHOOK_PATH}",
        "WEBHOOK_SECRET": SECRET,
        "LOG_LEVEL": "ERROR",
        "OTEL_EXPORTER_OTLP_ENDPOINT": "",
    }
    return subprocess.Popen([sys.executable, "-m", "zenith", "web"], cwd=REPO_ROOT, env=env)


async def wait_until_serving(base: str, web: subprocess.Popen, *, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    async with aiohttp.ClientSession() as session:
        while True:
            if web.poll() is not None:
                raise SystemExit(f"the web process exited with {web.returncode}")
            try:
                async with session.get(base + "/healthz") as response:
                    if response.status == 200:
                        return
            except aiohttp.ClientError:
                pass
            if time.monotonic() > deadline:
                raise SystemExit("the web process did not answer /healthz within 30 s")
            await asyncio.sleep(0.2)


async def measure(db: ScaleDatabase, args) -> None:
    namespace = f"bench-{uuid.uuid4().hex[:8]}"
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    url = base + ("/healthz" if args.target == "healthz" else WEBHOOK_PATH)
    generator = run_wrk if shutil.which("wrk") and not args.aiohttp else run_aiohttp
    web = None
    try:
        async with start_sandbox() as sandbox:
            replies: list[float] = []
            failed: list[float] = []
            original = sandbox.state.record

            def record(kind, chat_id, message_id=None, **data):
                if kind == "message":
                    text = ((data.get("message") or {}).get("text") or "").strip()
                    (failed if text in FAILURE_TEXTS else replies).append(time.perf_counter())
                return original(kind, chat_id, message_id, **data)

            sandbox.state.record = record
            for user_id in range(1, db.users + 1):  # the creators the updates come from have a chat with the bot
                sandbox.state.add_user(db.telegram_id(user_id), first_name=db.first_name(db.telegram_id(user_id)))
            web = start_web(
                db,
                port=port,
                sandbox_url=sandbox.url,
                token=sandbox.token,
                redis_url=args.redis_url,
                namespace=namespace,
            )
            await wait_until_serving(base, web)
            await asyncio.sleep(1.0)
            print(
                f"load generator: {'wrk' if generator is run_wrk else 'aiohttp'}, {args.connections} connections, "
                f"{args.seconds} s per run, target {args.target} ({url})"
            )
            results = []
            for run in range(args.runs):
                replies.clear()
                failed.clear()
                before = load_average()
                started = time.perf_counter()
                result = await generator(
                    url,
                    target=args.target,
                    connections=args.connections,
                    seconds=args.seconds,
                    first=1_000_000 * (run + 1),
                    users=db.users,
                )
                line = (
                    f"run {run + 1}: {result['rps']:8.1f} req/s ({result['requests']} requests), latency p50 "
                    f"{result['p50']:.2f} p90 {result['p90']:.2f} p99 {result['p99']:.2f} ms, non-2xx {result['non2xx']} "
                    f"{result['errors']}; load average {before} -> {load_average()}"
                )
                if args.target == "help":
                    accepted = result["requests"] - result["non2xx"]
                    drain_deadline = time.perf_counter() + args.drain_seconds
                    while len(replies) + len(failed) < accepted and time.perf_counter() < drain_deadline:
                        await asyncio.sleep(0.2)
                    handled = len(replies)
                    rate = handled / (max(replies) - started) if replies else 0.0
                    result["handled_rate"] = rate
                    result["failed"] = len(failed)
                    line += (
                        f"\n    answered: {handled} of {accepted} accepted ({rate:.1f} answers/s, last one "
                        f"{(max(replies) - started) if replies else 0:.1f} s after the start); "
                        f"FAILED (error reply): {len(failed)}"
                    )
                results.append(result)
                print(line, flush=True)
            median = sorted(results, key=lambda r: r["rps"])[len(results) // 2]
            text = (
                f"median run: {median['rps']:.1f} req/s, p50 {median['p50']:.2f} p90 {median['p90']:.2f} "
                f"p99 {median['p99']:.2f} ms"
            )
            if args.target == "help":
                text += (
                    f"; answered {statistics.median(r['handled_rate'] for r in results):.1f} /s (median), "
                    f"failed per run {[r['failed'] for r in results]}"
                )
            print(text)
    finally:
        if web is not None and web.poll() is None:
            web.send_signal(signal.SIGTERM)
            try:
                web.wait(timeout=20)
            except subprocess.TimeoutExpired:
                web.kill()
                web.wait()
        client = redis.Redis.from_url(args.redis_url)
        for key in client.scan_iter(match=f"{namespace}:*", count=1000):
            client.delete(key)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--target", choices=("cheap", "help", "healthz"), default="cheap")
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--drain-seconds", type=float, default=20.0, help="help: how long to wait for the replies")
    parser.add_argument(
        "--aiohttp", action="store_true", help="use the aiohttp load generator even if wrk is installed"
    )
    parser.add_argument("--users", type=int, default=50_000)
    parser.add_argument("--redis-url", default=os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/0"))
    args = parser.parse_args()
    if args.seconds > 50 or args.connections > 256:
        parser.error("keep runs bounded: --seconds <= 50, --connections <= 256")
    print(f"loading: {args.users} users ...", flush=True)
    with scale_database(users=args.users, videos=max(5_000, args.users), snapshots_per_video=0) as db:
        print(f"loaded in {sum(db.seconds.values()):.1f} s; load average {load_average()}", flush=True)
        asyncio.run(measure(db, args))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
