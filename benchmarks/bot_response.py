"""Bot response time as a creator sees it: the real polling bot against the Bot API sandbox.

    PYTHONPATH=. .venv/bin/python benchmarks/bot_response.py [--clients 200] [--runs 3]
        [--arrival-rate 0] [--users 50000] [--videos 100000] [--redis-url redis://127.0.0.1:6379/0]

Loads a throwaway database (``benchmarks.scale_data``: ``--users`` registered creators,
``--videos`` videos with their earnings in the ledger), serves the Telegram Bot API
sandbox (``zenith.sandbox.runner.start_sandbox``) on this process's event loop and starts
the real bot as a subprocess (``python -m zenith bot``, long polling, Redis namespace of
its own, default pool and throttling). Each run, ``--clients`` registered creators that
have not written before each do, one after the other: ``/start``, the "💰 Balance" menu
button, and a YouTube link. Clients start all at once (``--arrival-rate 0``: a burst,
the worst case) or at that many clients per second.

Response time = from the moment the user's update is queued in the sandbox (what
getUpdates hands out) to the moment the bot's first reply to it is stored in the
sandbox's state (the sendMessage call arrived); a reply that is the errors router's
"something went wrong"/"busy" text or the throttle's "slow down" counts as a failure,
not as a response time. Prints the failures, p50/p95/p99/max per action and
overall, replies/s over the run, and the bot process's CPU time per update. Then stops
the bot, deletes the namespace's Redis keys and drops the database.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import signal
import statistics
import subprocess
import sys
import time
import uuid
from collections import defaultdict
from collections.abc import Callable
from pathlib import Path

import redis

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.scale_data import ScaleDatabase, load_average, scale_database  # noqa: E402
from zenith.i18n import translate  # noqa: E402
from zenith.sandbox.runner import start_sandbox  # noqa: E402
from zenith.sandbox.state import SandboxState  # noqa: E402

REPO_ROOT = Path(__file__).resolve().parents[1]
ACTIONS = ("/start", "💰 Balance", "link")
REPLY_TIMEOUT_SECONDS = 30


# replies that mean the update failed: the errors router's and the throttle's
FAILURE_TEXTS = {
    translate(lang, key) for lang in ("ru", "en") for key in ("common.error", "common.busy", "common.slow_down")
}


class ReplyClock:
    """Time-stamps every message the bot sends, by chat, as the sandbox stores it.

    The future of a chat resolves to (time, failed): failed when the reply is the
    "something went wrong" / "busy" / "slow down" text instead of an answer.
    """

    def __init__(self, state: SandboxState) -> None:
        self.waiting: dict[int, asyncio.Future] = {}
        original = state.record

        def record(kind, chat_id, message_id=None, **data):
            event = original(kind, chat_id, message_id, **data)
            future = self.waiting.pop(chat_id, None) if kind == "message" else None
            if future is not None and not future.done():
                text = (data.get("message") or {}).get("text") or ""
                future.set_result((time.perf_counter(), text.strip() in FAILURE_TEXTS))
            return event

        state.record = record  # instance attribute: this sandbox only

    def expect(self, chat_id: int) -> asyncio.Future:
        future = asyncio.get_running_loop().create_future()
        self.waiting[chat_id] = future
        return future


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(share * (len(ordered) - 1))))]


def process_cpu_seconds(pid: int) -> float:
    """User + system CPU seconds of a process (from /proc)."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


async def one_client(
    state: SandboxState,
    clock: ReplyClock,
    *,
    telegram_id: int,
    start_at: float,
    latencies: dict[str, list[float]],
    replies: list[float],
    failures: list[str],
) -> None:
    await asyncio.sleep(max(0.0, start_at - time.perf_counter()))
    for action in ACTIONS:
        text = f"https://www.youtube.com/watch?v={uuid.uuid4().hex[:11]}" if action == "link" else action
        reply = clock.expect(telegram_id)
        state.user_sends_text(telegram_id, text, first_name=ScaleDatabase.first_name(telegram_id))
        sent = time.perf_counter()
        try:
            arrived, failed = await asyncio.wait_for(reply, REPLY_TIMEOUT_SECONDS)
        except asyncio.TimeoutError:
            failures.append(f"{action}: no reply in {REPLY_TIMEOUT_SECONDS} s")
            continue
        replies.append(arrived)
        if failed:
            failures.append(f"{action}: error reply")
        else:
            latencies[action].append((arrived - sent) * 1000)


async def wait_for_polling(state: SandboxState, bot: subprocess.Popen, *, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while "getUpdates" not in state.calls:
        if bot.poll() is not None:
            raise SystemExit(f"the bot exited with {bot.returncode} before polling")
        if time.monotonic() > deadline:
            raise SystemExit("the bot did not start polling within 30 s")
        await asyncio.sleep(0.1)


def start_bot(
    db: ScaleDatabase,
    *,
    sandbox_url: str,
    token: str,
    redis_url: str,
    namespace: str,
    wrap: Callable[[list[str]], list[str]] = list,
) -> subprocess.Popen:
    """``python -m zenith bot`` against the sandbox; ``wrap`` may prefix the command (e.g. with valgrind)."""
    env = {
        **os.environ,
        "PYTHONPATH": str(REPO_ROOT),
        "DATABASE_URL": db.url,
        "REDIS_URL": redis_url,
        "REDIS_NAMESPACE": namespace,
        "TELEGRAM_BOT_TOKEN": token,
        "TELEGRAM_API_URL": sandbox_url,
        "LOG_LEVEL": "WARNING",
        "OTEL_EXPORTER_OTLP_ENDPOINT": "",
        "WEBHOOK_URL": "",
    }
    return subprocess.Popen(wrap([sys.executable, "-m", "zenith", "bot"]), cwd=REPO_ROOT, env=env)


def stop_process(process: subprocess.Popen) -> None:
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def pick_users(db: ScaleDatabase, *, count: int, skip: int) -> list[int]:
    """Telegram ids of active loaded users (see scale_data: ids % 100 in 7, 11-13 are not)."""
    chosen, user_id = [], 100 + skip
    while len(chosen) < count:
        user_id += 1
        if user_id % 100 not in (7, 11, 12, 13):
            chosen.append(db.telegram_id(user_id))
    return chosen


async def one_run(
    state: SandboxState, clock: ReplyClock, bot_pid: int, *, telegram_ids: list[int], arrival_rate: float
) -> dict:
    latencies: dict[str, list[float]] = defaultdict(list)
    replies: list[float] = []
    failures: list[str] = []
    cpu_before = process_cpu_seconds(bot_pid)
    started = time.perf_counter()
    await asyncio.gather(
        *(
            one_client(
                state,
                clock,
                telegram_id=telegram_id,
                latencies=latencies,
                replies=replies,
                failures=failures,
                start_at=started + (index / arrival_rate if arrival_rate > 0 else 0.0),
            )
            for index, telegram_id in enumerate(telegram_ids)
        )
    )
    elapsed = max(replies) - started
    every = [value for values in latencies.values() for value in values]
    return {
        "latencies": dict(latencies),
        "all": every,
        "failures": failures,
        "replies_per_second": len(replies) / elapsed,
        "seconds": elapsed,
        "cpu_ms_per_update": (process_cpu_seconds(bot_pid) - cpu_before) * 1000 / len(replies),
    }


def summary(values: list[float]) -> str:
    values = values or [0.0]
    return (
        f"p50 {percentile(values, 0.50):7.1f}  p95 {percentile(values, 0.95):7.1f}  "
        f"p99 {percentile(values, 0.99):7.1f}  max {max(values):7.1f} ms"
    )


async def measure(db: ScaleDatabase, args) -> None:
    namespace = f"bench-{uuid.uuid4().hex[:8]}"
    bot = None
    try:
        async with start_sandbox() as sandbox:
            clock = ReplyClock(sandbox.state)
            bot = start_bot(
                db, sandbox_url=sandbox.url, token=sandbox.token, redis_url=args.redis_url, namespace=namespace
            )
            await wait_for_polling(sandbox.state, bot)
            await asyncio.sleep(1.0)  # start-up calls (deleteWebhook, setMyCommands) are not part of the figure
            results = []
            for run in range(args.runs):
                ids = pick_users(db, count=args.clients, skip=run * args.clients * 2)
                before = load_average()
                result = await one_run(sandbox.state, clock, bot.pid, telegram_ids=ids, arrival_rate=args.arrival_rate)
                results.append(result)
                print(
                    f"run {run + 1}: {len(ids)} clients x {len(ACTIONS)} actions in {result['seconds']:.1f} s, "
                    f"{result['replies_per_second']:.1f} replies/s, bot CPU {result['cpu_ms_per_update']:.1f} ms/update, "
                    f"load average {before} -> {load_average()}"
                )
                if result["failures"]:
                    counts = {text: result["failures"].count(text) for text in sorted(set(result["failures"]))}
                    print(
                        f"    FAILED {len(result['failures'])} of {len(ids) * len(ACTIONS)}: {counts} (see the bot's log)"
                    )
                for action in ACTIONS:
                    print(f"    {action:12s} {summary(result['latencies'].get(action) or [0.0])}")
                print(f"    {'all':12s} {summary(result['all'])}")
            median = sorted(results, key=lambda r: percentile(r["all"] or [0.0], 0.5))[len(results) // 2]
            print(
                f"median run (by p50): {summary(median['all'])}; {median['replies_per_second']:.1f} replies/s; "
                f"median of p95 over runs {statistics.median(percentile(r['all'] or [0.0], 0.95) for r in results):.1f} ms; "
                f"failures per run {[len(r['failures']) for r in results]}"
            )
    finally:
        if bot is not None:
            stop_process(bot)
        client = redis.Redis.from_url(args.redis_url)
        for key in client.scan_iter(match=f"{namespace}:*", count=1000):
            client.delete(key)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=200)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--arrival-rate", type=float, default=0.0, help="clients started per second (0: all at once)")
    parser.add_argument("--users", type=int, default=50_000)
    parser.add_argument("--videos", type=int, default=100_000)
    parser.add_argument("--redis-url", default=os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/0"))
    args = parser.parse_args()
    if (args.runs * 2 + 1) * args.clients + 200 > args.users:
        parser.error("not enough --users for that many --clients and --runs")
    print(f"loading: {args.users} users, {args.videos} videos ...", flush=True)
    with scale_database(users=args.users, videos=args.videos, snapshots_per_video=1) as db:
        print(f"loaded in {sum(db.seconds.values()):.1f} s; load average {load_average()}", flush=True)
        asyncio.run(measure(db, args))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
