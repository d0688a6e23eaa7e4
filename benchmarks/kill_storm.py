"""What a SIGKILL storm on one pool does to the others, with real processes.

    PYTHONPATH=. .venv/bin/python benchmarks/kill_storm.py [--interval 1] [--max-seconds 400] [--pool parsing]

`zenith supervise --pools parsing,rates,web` on a throwaway migrated database (as
tests/conftest.py makes them), Redis at TEST_REDIS_URL (default
redis://127.0.0.1:6379/0) in a namespace of its own, the production restart policy
(SUPERVISOR_* defaults) unless set in the environment. Every ``--interval`` seconds the
running process of ``--pool`` gets SIGKILL, until that pool gives up (its restart
budget is spent) or ``--max-seconds`` pass. Meanwhile web's /healthz is probed every
0.2 s. Prints: when the storm pool gave up and after how many kills; /healthz answered
and its latency (median, p99, max) before and during the storm; whether the web and
rates processes kept their pids and restart counts; the supervisor still running.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
import uuid
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def probe(port: int) -> float | None:
    """Seconds /healthz took to answer 200, or None."""
    began = time.monotonic()
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2) as response:
            return time.monotonic() - began if response.status == 200 else None
    except OSError:
        return None


def latency(values: list[float | None]) -> str:
    answered = sorted(v for v in values if v is not None)
    if not answered:
        return f"0/{len(values)} answered"
    p99 = answered[min(len(answered) - 1, int(0.99 * len(answered)))]
    return (
        f"{len(answered)}/{len(values)} answered, median {statistics.median(answered) * 1000:.1f} ms, "
        f"p99 {p99 * 1000:.1f} ms, max {answered[-1] * 1000:.1f} ms"
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--interval", type=float, default=1.0, help="seconds between two kills")
    parser.add_argument("--max-seconds", type=float, default=400.0, help="end the storm after this long anyway")
    parser.add_argument("--pool", default="parsing", choices=("parsing", "rates"))
    args = parser.parse_args()

    import redis as redis_client

    from tests.conftest import TEST_REDIS_URL, create_migrated_database, drop_database

    namespace = f"bench-{uuid.uuid4().hex[:8]}"
    database_url = create_migrated_database("zenith_bench")
    port = free_port()
    with tempfile.TemporaryDirectory(prefix="zenith-kill-storm-") as folder:
        data_dir = Path(folder)
        env = {
            **os.environ,
            "PYTHONPATH": str(REPO_ROOT),
            "DATA_DIR": str(data_dir),
            "DATABASE_URL": database_url,
            "REDIS_URL": TEST_REDIS_URL,
            "REDIS_NAMESPACE": namespace,
            "LOG_LEVEL": "WARNING",
            "PORT": str(port),
            "TELEGRAM_BOT_TOKEN": "123456:benchmark-token-not-for-telegram",
            "SUPERVISOR_STATUS_INTERVAL_SECONDS": "0.5",
        }
        log_path = data_dir / "supervise.log"
        with open(log_path, "wb") as log:
            supervisor = subprocess.Popen(
                [sys.executable, "-m", "zenith", "supervise", "--pools", "parsing,rates,web"],
                cwd=REPO_ROOT,
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )

        def pools() -> dict[str, dict]:
            try:
                status = json.loads((data_dir / "status" / "supervisor.json").read_text())
            except (FileNotFoundError, ValueError):
                return {}
            return {pool["name"]: pool for pool in status["pools"]}

        def running_pid(name: str) -> int | None:
            slot = pools().get(name, {}).get("slots", [{}])[0]
            return slot.get("pid") if slot.get("state") == "running" else None

        try:
            deadline = time.monotonic() + 120
            while not (probe(port) and all(running_pid(name) for name in ("parsing", "rates", "web"))):
                if time.monotonic() > deadline or supervisor.poll() is not None:
                    raise SystemExit("the pools did not come up:\n" + log_path.read_text()[-3000:])
                time.sleep(0.2)
            before = {name: (running_pid(name), pools()[name]["restarts"]) for name in ("parsing", "rates", "web")}
            calm = []
            for _ in range(50):
                calm.append(probe(port))
                time.sleep(0.2)

            storm, kills, began = [], 0, time.monotonic()
            next_kill = began
            while pools()[args.pool]["state"] != "failed" and time.monotonic() - began < args.max_seconds:
                if time.monotonic() >= next_kill:
                    victim = running_pid(args.pool)
                    if victim:
                        os.kill(victim, signal.SIGKILL)
                        kills += 1
                    next_kill += args.interval
                storm.append(probe(port))
                time.sleep(0.2)
            took = time.monotonic() - began
            state = pools()[args.pool]
            print(
                f"policy: {state['max_restarts']} restarts per pool within {state['restart_window']:g} s; a kill every {args.interval:g} s"
            )
            if state["state"] == "failed":
                print(
                    f"{args.pool} pool gave up {took:.1f} s into the storm after {kills} kills ({state['restarts']} restarts): {state['failed_reason']}"
                )
            else:
                print(
                    f"{args.pool} pool still restarting after {took:.1f} s and {kills} kills ({state['restarts']} restarts)"
                )
            print(f"web /healthz before the storm: {latency(calm)}")
            print(f"web /healthz during the storm: {latency(storm)}")
            for name in ("rates", "web"):
                pid, restarts = running_pid(name), pools()[name]["restarts"]
                same = "same pid" if pid == before[name][0] else f"pid changed {before[name][0]} -> {pid}"
                print(f"{name}: {same}, restarts {before[name][1]} -> {restarts}")
            print(f"supervisor still running: {supervisor.poll() is None}")
        finally:
            if supervisor.poll() is None:
                supervisor.send_signal(signal.SIGTERM)
                try:
                    supervisor.wait(timeout=40)
                except subprocess.TimeoutExpired:
                    os.killpg(supervisor.pid, signal.SIGKILL)
                    supervisor.wait()
            client = redis_client.Redis.from_url(TEST_REDIS_URL)
            for key in client.scan_iter(match=f"{namespace}:*", count=1000):
                client.delete(key)
            client.close()
            drop_database(database_url)
    return 0


if __name__ == "__main__":
    sys.exit(main())
