"""Supervisor figures: restart latency, and its own CPU and memory while idle.

    .venv/bin/python benchmarks/supervisor_bench.py [--kills 15] [--idle-seconds 10]
    PYTHONPATH=. .venv/bin/python benchmarks/supervisor_bench.py --real [--kills 5] [--idle-seconds 30]

1. Restart latency: one pool of a sleeping Python child; SIGKILL it N times and time
   from the kill to the moment the replacement runs its first line (median, p90,
   max), once with the production backoff (first restart after ~0.5 s) and once with
   no backoff (what the supervisor itself adds on top of Python's start-up).
2. Idle cost: 5 pools of sleeping children with production heartbeat and status
   settings; the supervisor's CPU % and RSS over the idle period, read from /proc.

``--real``: the same two figures with `zenith supervise` running the five real worker
pools (`zenith worker` processes) on a throwaway migrated database (as
tests/conftest.py makes them), Redis at TEST_REDIS_URL (default
redis://127.0.0.1:6379/0) in a namespace of its own, production settings. "Serving
again" is the time from SIGKILL of the parsing worker to the moment a
``check_videos`` message sent right after the kill has been processed (acknowledged).
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]

CHILD = """
import json, os, sys, time
from zenith.supervisor.heartbeat import start_heartbeat
with open(sys.argv[1], "a") as out:
    out.write(json.dumps({"pid": os.getpid(), "at": time.time()}) + "\\n")
start_heartbeat(5.0)
while True:
    time.sleep(3600)
"""

RUNNER = """
import json, sys
from zenith.config import load_settings
from zenith.supervisor.main import supervise
from zenith.supervisor.specs import PoolSpec, SupervisorPolicy
config = json.loads(sys.argv[1])
pools = [PoolSpec(name=p["name"], argv=tuple(p["argv"]), heartbeat_timeout=p["heartbeat_timeout"]) for p in config["pools"]]
sys.exit(supervise(pools, settings=load_settings(), policy=SupervisorPolicy(**config["policy"])))
"""


def start_supervisor(work: Path, pools: list[dict], policy: dict) -> subprocess.Popen:
    env = {
        **os.environ,
        "PYTHONPATH": str(REPO_ROOT),
        "DATA_DIR": str(work / "data"),
        "REDIS_URL": "",
        "LOG_LEVEL": "WARNING",
    }
    config = json.dumps({"pools": pools, "policy": policy})
    return subprocess.Popen(
        [sys.executable, "-c", RUNNER, config],
        cwd=REPO_ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


def starts(marker: Path) -> list[dict]:
    if not marker.exists():
        return []
    return [json.loads(line) for line in marker.read_text().splitlines() if line.strip()]


def wait_for_starts(marker: Path, count: int, timeout: float = 30.0) -> list[dict]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = starts(marker)
        if len(found) >= count:
            return found
        time.sleep(0.005)
    raise TimeoutError(f"{marker.name}: fewer than {count} starts after {timeout} s")


def stop(process: subprocess.Popen) -> None:
    process.send_signal(signal.SIGTERM)
    process.wait(timeout=30)


def restart_latency(work: Path, *, kills: int, backoff_base: float) -> list[float]:
    marker = work / f"victim-{backoff_base}.jsonl"
    child = work / "child.py"
    policy = {
        "backoff_base": backoff_base,
        "backoff_cap": 30.0,
        "healthy_after": 1.0,
        "max_restarts": 10_000,
        "status_interval": 5.0,
    }
    process = start_supervisor(
        work, [{"name": "victim", "argv": [sys.executable, str(child), str(marker)], "heartbeat_timeout": 60.0}], policy
    )
    latencies = []
    try:
        current = wait_for_starts(marker, 1)[-1]
        for n in range(kills):
            time.sleep(1.2)  # longer than healthy_after: every kill meets a reset backoff
            killed_at = time.time()
            os.kill(current["pid"], signal.SIGKILL)
            current = wait_for_starts(marker, n + 2)[-1]
            latencies.append(current["at"] - killed_at)
    finally:
        stop(process)
    return latencies


def proc_cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")  # utime + stime


def proc_rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


def idle_cost(work: Path, *, seconds: float) -> tuple[float, float, int, int]:
    child = work / "child.py"
    pools = [
        {
            "name": f"pool{i}",
            "argv": [sys.executable, str(child), str(work / f"idle{i}.jsonl")],
            "heartbeat_timeout": 60.0,
        }
        for i in range(5)
    ]
    process = start_supervisor(work, pools, {"status_interval": 5.0})
    try:
        for i in range(5):
            wait_for_starts(work / f"idle{i}.jsonl", 1)
        time.sleep(2.0)  # let start-up settle
        cpu_before, wall_before = proc_cpu_seconds(process.pid), time.monotonic()
        rss_peak = 0
        while time.monotonic() - wall_before < seconds:
            rss_peak = max(rss_peak, proc_rss_kib(process.pid))
            time.sleep(0.5)
        cpu = proc_cpu_seconds(process.pid) - cpu_before
        wall = time.monotonic() - wall_before
        return cpu, wall, proc_rss_kib(process.pid), rss_peak
    finally:
        stop(process)


def summary(values: list[float]) -> str:
    ordered = sorted(values)
    p90 = ordered[min(len(ordered) - 1, int(round(0.9 * (len(ordered) - 1))))]
    return f"median {statistics.median(ordered) * 1000:.0f} ms, p90 {p90 * 1000:.0f} ms, max {ordered[-1] * 1000:.0f} ms (n={len(ordered)})"


def real_pools(*, kills: int, idle_seconds: float) -> None:
    import uuid

    import redis as redis_client

    from tests.conftest import TEST_REDIS_URL, create_migrated_database, drop_database
    from zenith.config import load_settings
    from zenith.messaging.broker import build_broker
    from zenith.messaging.contract import CHECK_VIDEOS, send

    namespace = f"bench-{uuid.uuid4().hex[:8]}"
    database_url = create_migrated_database("zenith_bench")
    broker = build_broker(load_settings({}), redis_url=TEST_REDIS_URL, namespace=namespace)
    client = redis_client.Redis.from_url(TEST_REDIS_URL)
    with tempfile.TemporaryDirectory(prefix="zenith-supervisor-real-") as folder:
        data_dir = Path(folder)
        env = {
            **os.environ,
            "PYTHONPATH": str(REPO_ROOT),
            "DATA_DIR": str(data_dir),
            "DATABASE_URL": database_url,
            "REDIS_URL": TEST_REDIS_URL,
            "REDIS_NAMESPACE": namespace,
            "LOG_LEVEL": "WARNING",
            "WEBHOOK_URL": "https://bench.invalid/hook",
        }
        supervisor = subprocess.Popen(
            [sys.executable, "-m", "zenith", "supervise"],
            cwd=REPO_ROOT,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )

        def parsing_pid() -> int | None:
            try:
                status = json.loads((data_dir / "status" / "supervisor.json").read_text())
            except (FileNotFoundError, ValueError):
                return None
            slot = next(p for p in status["pools"] if p["name"] == "parsing")["slots"][0]
            return slot["pid"] if slot["state"] == "running" else None

        def processed(message) -> bool:
            return not client.hexists(f"{namespace}:parsing.msgs", message.options["redis_message_id"])

        def wait(condition, timeout: float = 120.0):
            deadline = time.monotonic() + timeout
            while time.monotonic() < deadline:
                value = condition()
                if value:
                    return value
                time.sleep(0.02)
            raise TimeoutError("condition not met")

        try:
            first = send(CHECK_VIDEOS, [-1], broker=broker)
            wait(lambda: processed(first))  # every pool up and consuming
            latencies = []
            for _ in range(kills):
                victim = wait(parsing_pid)
                time.sleep(2.0)
                os.kill(victim, signal.SIGKILL)
                killed_at = time.monotonic()
                probe = send(CHECK_VIDEOS, [-1], broker=broker)
                wait(lambda probe=probe: processed(probe))
                latencies.append(time.monotonic() - killed_at)
                wait(lambda victim=victim: parsing_pid() not in (None, victim))
            print(
                f"real parsing worker SIGKILLed -> pool serving again (a new message processed): {summary(latencies)}"
            )
            time.sleep(5.0)  # let start-up settle
            cpu_before, wall_before = proc_cpu_seconds(supervisor.pid), time.monotonic()
            rss_peak = 0
            while time.monotonic() - wall_before < idle_seconds:
                rss_peak = max(rss_peak, proc_rss_kib(supervisor.pid))
                time.sleep(0.5)
            cpu = proc_cpu_seconds(supervisor.pid) - cpu_before
            wall = time.monotonic() - wall_before
            print(
                f"idle supervisor with the 5 real worker pools over {wall:.1f} s: CPU {cpu * 1000:.0f} ms = {100 * cpu / wall:.2f} %, "
                f"RSS {proc_rss_kib(supervisor.pid) / 1024:.1f} MiB (peak {rss_peak / 1024:.1f} MiB)"
            )
        finally:
            stop(supervisor)
            broker.close()
            for key in client.scan_iter(match=f"{namespace}:*", count=1000):
                client.delete(key)
            client.close()
            drop_database(database_url)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--kills", type=int, default=15)
    parser.add_argument("--idle-seconds", type=float, default=10.0)
    parser.add_argument(
        "--real", action="store_true", help="real worker pools under `zenith supervise` (needs PostgreSQL and Redis)"
    )
    args = parser.parse_args()
    if args.real:
        real_pools(kills=args.kills, idle_seconds=args.idle_seconds)
        return 0
    with tempfile.TemporaryDirectory(prefix="zenith-supervisor-bench-") as folder:
        work = Path(folder)
        (work / "child.py").write_text(CHILD)
        print(
            f"restart latency, production backoff (0.5 s first delay): {summary(restart_latency(work, kills=args.kills, backoff_base=0.5))}"
        )
        print(
            f"restart latency, no backoff (supervisor + Python start-up): {summary(restart_latency(work, kills=args.kills, backoff_base=0.0))}"
        )
        cpu, wall, rss, peak = idle_cost(work, seconds=args.idle_seconds)
        # /proc counts CPU time in clock ticks (10 ms): below one tick reads as 0.
        print(
            f"idle supervisor with 5 pools over {wall:.1f} s: CPU {cpu * 1000:.0f} ms = {100 * cpu / wall:.2f} % "
            f"(tick {1000 / os.sysconf('SC_CLK_TCK'):.0f} ms), RSS {rss / 1024:.1f} MiB (peak {peak / 1024:.1f} MiB)"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
