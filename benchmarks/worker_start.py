"""Worker start-up: from `zenith worker --queues Q` spawned to its first message processed.

    PYTHONPATH=. .venv/bin/python benchmarks/worker_start.py [--queue parsing] [--runs 5]

Each run sends one message for the queue (``check_videos([-1])`` for parsing,
``refresh_rates()`` for rates, ...: messages the actor finishes without outside
services), starts a fresh ``python -m zenith worker --queues Q --threads 1`` on a
throwaway migrated database and a Redis namespace of its own, and times the moment the
message is acknowledged. A last, untimed run under ``python -X importtime`` reports
whether the worker imported aiogram.
"""

from __future__ import annotations

import argparse
import os
import signal
import statistics
import subprocess
import sys
import time
import uuid
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]


def _probe(queue: str):
    from zenith.messaging import contract

    return {
        "parsing": (contract.CHECK_VIDEOS, ([-1],)),
        "rates": (contract.REFRESH_RATES, ()),
        "payouts": (contract.PROCESS_PAYOUT, (-1,)),
        "submission": (contract.VERIFY_ACCOUNT, (-1,)),
    }[queue]


def imports_aiogram(argv: list[str], env: dict) -> bool:
    """Start the worker under ``-X importtime`` for a few seconds; True if aiogram was imported."""
    worker = subprocess.Popen(
        argv, cwd=REPO_ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True
    )
    time.sleep(15)
    worker.send_signal(signal.SIGTERM)
    _, err = worker.communicate(timeout=60)
    return "| aiogram" in err


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--queue", default="parsing", choices=["parsing", "rates", "payouts", "submission"])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--all-queues", action="store_true", help="start `zenith worker` without --queues")
    args = parser.parse_args()

    import redis as redis_client

    from tests.conftest import TEST_REDIS_URL, create_migrated_database, drop_database
    from zenith.config import load_settings
    from zenith.messaging.broker import build_broker
    from zenith.messaging.contract import send

    namespace = f"bench-{uuid.uuid4().hex[:8]}"
    database_url = create_migrated_database("zenith_bench")
    broker = build_broker(load_settings({}), redis_url=TEST_REDIS_URL, namespace=namespace)
    client = redis_client.Redis.from_url(TEST_REDIS_URL)
    route, probe_args = _probe(args.queue)
    argv = [sys.executable, "-m", "zenith", "worker", "--threads", "1"] + (
        [] if args.all_queues else ["--queues", args.queue]
    )
    env = {
        **os.environ,
        "PYTHONPATH": str(REPO_ROOT),
        "DATABASE_URL": database_url,
        "REDIS_URL": TEST_REDIS_URL,
        "REDIS_NAMESPACE": namespace,
        "LOG_LEVEL": "WARNING",
        "CRYPTO_PAY_TOKEN": "",
    }
    timings: list[float] = []
    try:
        for _ in range(args.runs):
            message = send(route, *probe_args, broker=broker)
            started = time.monotonic()
            worker = subprocess.Popen(
                argv, cwd=REPO_ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
            )
            try:
                while client.hexists(
                    f"{namespace}:{args.queue}.msgs", message.options["redis_message_id"]
                ) or client.llen(f"{namespace}:{args.queue}"):
                    if worker.poll() is not None:
                        raise RuntimeError(f"worker exited with {worker.returncode}")
                    if time.monotonic() - started > 120:
                        raise TimeoutError("message not processed within 120 s")
                    time.sleep(0.01)
                timings.append(time.monotonic() - started)
            finally:
                worker.send_signal(signal.SIGTERM)
                worker.wait(timeout=60)
            print(f"run {len(timings)}: {timings[-1]:.2f} s", flush=True)
        aiogram = imports_aiogram([sys.executable, "-X", "importtime", *argv[1:]], env)
    finally:
        broker.close()
        for key in client.scan_iter(match=f"{namespace}:*", count=1000):
            client.delete(key)
        client.close()
        drop_database(database_url)
    what = "every queue" if args.all_queues else args.queue
    print(
        f"`zenith worker` ({what}) spawned -> first {args.queue} message processed: "
        f"median {statistics.median(timings):.2f} s, min {min(timings):.2f} s, max {max(timings):.2f} s (n={len(timings)}); imports aiogram: {aiogram}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
