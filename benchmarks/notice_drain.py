"""How fast queued credit notices drain: a real notifications worker against the Bot API sandbox.

    PYTHONPATH=. .venv/bin/python benchmarks/notice_drain.py [--notices 1000] [--latency 0,0.2]
        [--threads 16] [--per-chat 1] [--redis-url redis://127.0.0.1:6379/0]

A throwaway database with ``--notices`` creators (loaded with COPY), the sandbox on this
process's loop with Telegram's limits switched on (1 message/s per chat, 30/s overall:
a send beyond them gets 429 ``retry_after``), and for each ``--latency`` (seconds the
sandbox takes to answer each sendMessage, as the real Bot API does over the internet):

1. ``--notices`` ``notify.video.credited`` messages, each with its dedup key, queued at
   once (a backlog, as after a fault): ``--per-chat`` of them to each creator (1: every
   notice to another chat; 5: creators with five credited videos each, so the 1/s per
   chat limit matters as much as the 30/s overall);
2. one ``python -m zenith worker --queues notifications --processes 1 --threads N``,
   as the supervisor starts the notifications pool;
3. the time from the first to the last notice stored by the sandbox.

Prints notices/s (the target is Telegram's ceiling, about 30/s), the 429 answers, the
worker's CPU per notice and the load average. Drops the database and the namespace's
Redis keys at the end.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import subprocess
import sys
import time
import uuid
from pathlib import Path

import psycopg
import redis

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.bot_response import process_cpu_seconds, stop_process  # noqa: E402
from benchmarks.scale_data import load_average  # noqa: E402
from tests.conftest import create_migrated_database, drop_database  # noqa: E402
from zenith.config import load_settings  # noqa: E402
from zenith.messaging.broker import build_broker  # noqa: E402
from zenith.messaging.contract import NOTIFY, send  # noqa: E402
from zenith.sandbox import SANDBOX_TOKEN  # noqa: E402
from zenith.sandbox.runner import start_sandbox  # noqa: E402

REPO_ROOT = Path(__file__).resolve().parents[1]
TELEGRAM_ID_BASE = 8_000_000_000
DRAIN_TIMEOUT_SECONDS = 600


def load_users(url: str, count: int) -> list[int]:
    """COPY ``count`` creators; returns their users.id."""
    with psycopg.connect(url, autocommit=True) as conn:
        with conn.cursor().copy("COPY users (telegram_id, first_name, language) FROM STDIN") as copy:
            for user in range(1, count + 1):
                copy.write_row((TELEGRAM_ID_BASE + user, f"Creator {user}", "en"))
        return [row[0] for row in conn.execute("SELECT id FROM users ORDER BY id")]


async def drain(url: str, user_ids: list[int], *, latency: float, args) -> dict:
    namespace = f"bench-{uuid.uuid4().hex[:8]}"
    env = {
        **os.environ,
        "PYTHONPATH": str(REPO_ROOT),
        "DATABASE_URL": url,
        "REDIS_URL": args.redis_url,
        "REDIS_NAMESPACE": namespace,
        "TELEGRAM_BOT_TOKEN": SANDBOX_TOKEN,
        "LOG_LEVEL": "WARNING",
        "OTEL_EXPORTER_OTLP_ENDPOINT": "",
    }
    worker = None
    try:
        async with start_sandbox(token=SANDBOX_TOKEN) as sandbox:
            state = sandbox.state
            state.rate_limits.configure(per_chat=1, overall=30)
            if latency > 0:
                state.faults.fail_next("sendMessage", times=args.notices * 3, kind="delay", delay=latency)
            for user_id in range(1, len(user_ids) + 1):
                state.add_user(TELEGRAM_ID_BASE + user_id, first_name="Creator")
            sent: list[float] = []
            original = state.record

            def record(kind, chat_id, message_id=None, **data):
                if kind == "message":
                    sent.append(time.perf_counter())
                return original(kind, chat_id, message_id, **data)

            state.record = record
            refused = 0
            original_check = state.rate_limits.check if hasattr(state.rate_limits, "check") else None
            if original_check is not None:

                def check(*a, **k):
                    nonlocal refused
                    try:
                        return original_check(*a, **k)
                    except Exception:
                        refused += 1
                        raise

                state.rate_limits.check = check
            env["TELEGRAM_API_URL"] = sandbox.url
            broker = build_broker(load_settings(env), redis_url=args.redis_url, namespace=namespace)
            for index in range(args.notices):
                user_id = user_ids[index // args.per_chat]
                send(
                    NOTIFY,
                    user_id,
                    "notify.video.credited",
                    {"amount": "12.50", "url": f"https://youtu.be/v{index:09d}", "views": 1000 + index},
                    f"bench-credit:{namespace}:{index}",
                    None,
                    broker=broker,
                )
            broker.close()
            load_before = load_average()
            worker = subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "zenith",
                    "worker",
                    "--queues",
                    "notifications",
                    "--processes",
                    "1",
                    "--threads",
                    str(args.threads),
                ],
                cwd=REPO_ROOT,
                env=env,
            )
            deadline = time.perf_counter() + DRAIN_TIMEOUT_SECONDS
            while not sent and worker.poll() is None and time.perf_counter() < deadline:
                await asyncio.sleep(0.05)
            cpu_at_first = process_cpu_seconds(worker.pid) if worker.poll() is None else 0.0
            while len(sent) < args.notices and time.perf_counter() < deadline:
                if worker.poll() is not None:
                    raise SystemExit(f"the worker exited with {worker.returncode}")
                await asyncio.sleep(0.2)
            cpu = process_cpu_seconds(worker.pid) - cpu_at_first
            elapsed = (sent[-1] - sent[0]) if len(sent) > 1 else float("nan")
            return {
                "latency": latency,
                "sent": len(sent),
                "rate": (len(sent) - 1) / elapsed if len(sent) > 1 else 0.0,
                "seconds": elapsed,
                "refused": refused,
                "cpu_ms": cpu * 1000 / max(1, len(sent)),
                "load": f"{load_before} -> {load_average()}",
            }
    finally:
        if worker is not None:
            stop_process(worker)
        client = redis.Redis.from_url(args.redis_url)
        for key in client.scan_iter(match=f"{namespace}*", count=1000):
            client.delete(key)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--notices", type=int, default=1000)
    parser.add_argument("--latency", type=lambda raw: [float(p) for p in raw.split(",")], default=[0.0, 0.2])
    parser.add_argument("--threads", type=int, default=16, help="worker threads (the notifications pool's default: 16)")
    parser.add_argument("--per-chat", type=int, default=1, help="notices per creator")
    parser.add_argument("--redis-url", default=os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/0"))
    args = parser.parse_args()
    url = create_migrated_database("zenith_notices")
    try:
        user_ids = load_users(url, -(-args.notices // args.per_chat))
        for latency in args.latency:
            result = asyncio.run(drain(url, user_ids, latency=latency, args=args))
            print(
                f"sendMessage latency {latency * 1000:.0f} ms, {args.per_chat} per chat, {args.threads} threads: "
                f"{result['sent']}/{args.notices} notices in "
                f"{result['seconds']:.1f} s = {result['rate']:.1f} notices/s, 429 answers {result['refused']}, "
                f"worker CPU {result['cpu_ms']:.1f} ms/notice; load average {result['load']}",
                flush=True,
            )
    finally:
        drop_database(url)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
