"""`zenith bot` against a bare aiogram echo bot, in one run, against the same Bot API sandbox.

    PYTHONPATH=. .venv/bin/python benchmarks/bot_vs_echo.py [--users 1000] [--messages 3]
        [--texts /help,/balance] [--rounds 1] [--concurrent 10] [--latency-messages 30] [--throttle-limit 0]
        [--webhook-processes 1,2] [--webhook-seconds 10] [--webhook-connections 32]
        [--redis-url redis://127.0.0.1:6379/0]

Loads a throwaway database (``benchmarks.scale_data``: ``--users`` + 300 creators with a
video each, so /balance has books to read), serves the sandbox on this process's loop and,
one after the other:

1. Polling, for the echo bot (``benchmarks/echo_bot.py``) and then ``python -m zenith bot``:
   - throughput: ``--users`` creators each send ``--messages`` messages (``--texts`` in turn:
     /help, /balance, /help, ...), each after the reply to the previous one; prints updates/s (replies
     stored by the sandbox over the time from the first message to the last reply), the
     bot process's CPU per update and the load average;
   - latency: ``--concurrent`` creators each send ``--latency-messages`` messages the same
     way; prints p50/p99 from the update being queued to the reply being stored.
   Then the ratio zenith / echo of both. With ``--rounds N`` the pair runs N times, each
   from the same state (no creator marked seen, fresh Redis keys), and the median ratio and
   CPU per update are printed too: on a noisy host one pair's ratio moves more than many
   changes do. With ``--count instructions`` both bots run under valgrind's callgrind
   (``benchmarks/instruction_meter.py``) and the throughput line gives the instructions
   each executed per update, which the host's speed does not move; their rates then mean
   nothing (callgrind runs a process some fifty times slower), so use fewer ``--users``. ``zenith bot`` runs with
   ``BOT_THROTTLE_LIMIT=--throttle-limit`` (0: no per-user throttle, so the figure is the
   bot's, not the throttle's; give e.g. 8 to measure with the default throttle).
2. Webhook scaling: for each N of ``--webhook-processes``, N ``python -m zenith web``
   processes on one port (``WEB_REUSE_PORT=true``: the kernel spreads the connections),
   ``--webhook-connections`` keep-alive connections posting /help updates from the creators
   for ``--webhook-seconds``; prints a table of accepted requests/s, 503s (no free slot:
   Telegram would redeliver) and fully handled updates/s (replies stored by the sandbox).

A reply that is the "something went wrong" / "busy" / "slow down" text counts as a
failure. The load generator and the sandbox share this process (one core at most), so
the echo bot's figure is also the ceiling of the harness itself: the throughput line
prints the share of a core this process used, near 100 % meaning the harness, not the
bot, set the pace.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import subprocess
import sys
import time
import uuid
from collections.abc import Callable
from pathlib import Path

import psycopg
import redis

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks import web_throughput  # noqa: E402
from benchmarks.bot_response import (  # noqa: E402
    ReplyClock,
    percentile,
    pick_users,
    process_cpu_seconds,
    start_bot,
    stop_process,
    wait_for_polling,
)
from benchmarks.instruction_meter import InstructionMeter  # noqa: E402
from benchmarks.scale_data import ScaleDatabase, load_average, scale_database  # noqa: E402
from zenith.sandbox.runner import start_sandbox  # noqa: E402
from zenith.sandbox.state import SandboxState  # noqa: E402

REPO_ROOT = Path(__file__).resolve().parents[1]
TEXTS = ("/help", "/balance")
REPLY_TIMEOUT_SECONDS = 30


def start_echo(*, sandbox_url: str, token: str, wrap: Callable[[list[str]], list[str]] = list) -> subprocess.Popen:
    """The echo bot against the sandbox; ``wrap`` may prefix the command, as ``start_bot``'s does."""
    env = {**os.environ, "TELEGRAM_API_URL": sandbox_url, "TELEGRAM_BOT_TOKEN": token}
    return subprocess.Popen(
        wrap([sys.executable, str(REPO_ROOT / "benchmarks" / "echo_bot.py")]), cwd=REPO_ROOT, env=env
    )


async def client(
    state: SandboxState,
    clock: ReplyClock,
    *,
    telegram_id: int,
    messages: int,
    texts: tuple[str, ...],
    latencies: list[float],
    replies: list[float],
    failures: list[str],
) -> None:
    for index in range(messages):
        reply = clock.expect(telegram_id)
        state.user_sends_text(
            telegram_id, texts[index % len(texts)], first_name=ScaleDatabase.first_name(telegram_id), language_code="en"
        )
        sent = time.perf_counter()
        try:
            arrived, failed = await asyncio.wait_for(reply, REPLY_TIMEOUT_SECONDS)
        except asyncio.TimeoutError:
            failures.append("no reply")
            continue
        replies.append(arrived)
        if failed:
            failures.append("error reply")
        else:
            latencies.append((arrived - sent) * 1000)


async def closed_loop(
    state: SandboxState,
    clock: ReplyClock,
    pid: int,
    *,
    telegram_ids: list[int],
    messages: int,
    texts: tuple[str, ...],
    meter: InstructionMeter | None = None,
) -> dict:
    latencies: list[float] = []
    replies: list[float] = []
    failures: list[str] = []
    if meter is not None:
        await asyncio.to_thread(meter.start, pid)
    cpu_before = process_cpu_seconds(pid)
    harness_before = time.process_time()  # this process: the sandbox and the load generator
    load_before = load_average()
    started = time.perf_counter()
    await asyncio.gather(
        *(
            client(
                state,
                clock,
                telegram_id=telegram_id,
                messages=messages,
                texts=texts,
                latencies=latencies,
                replies=replies,
                failures=failures,
            )
            for telegram_id in telegram_ids
        )
    )
    elapsed = (max(replies) - started) if replies else float("nan")
    instructions = await asyncio.to_thread(meter.stop, pid) if meter is not None else None
    return {
        "instructions": instructions / max(1, len(replies)) if instructions is not None else None,
        "updates": len(telegram_ids) * messages,
        "replies": len(replies),
        "failures": len(failures),
        "per_second": len(replies) / elapsed,
        "seconds": elapsed,
        "latencies": latencies or [float("nan")],
        "cpu_ms": (process_cpu_seconds(pid) - cpu_before) * 1000 / max(1, len(replies)),
        "harness_cpu_share": (time.process_time() - harness_before) / elapsed,
        "load": f"{load_before} -> {load_average()}",
    }


async def measure_polling(
    name: str,
    process: subprocess.Popen,
    state: SandboxState,
    clock: ReplyClock,
    db: ScaleDatabase,
    args,
    meter: InstructionMeter | None = None,
) -> dict:
    try:
        await wait_for_polling(state, process, timeout=90 if meter is None else 600)
        await asyncio.sleep(1.0)  # start-up calls are not part of the figure
        # the same creators for both bots, so both answer the same chats
        ids = pick_users(db, count=args.users, skip=0)
        throughput = await closed_loop(
            state, clock, process.pid, telegram_ids=ids, messages=args.messages, texts=args.texts, meter=meter
        )
        latency = await closed_loop(
            state,
            clock,
            process.pid,
            telegram_ids=ids[: args.concurrent],
            messages=args.latency_messages,
            texts=args.texts,
        )
    finally:
        stop_process(process)
        state.calls.clear()  # the next bot's first getUpdates is how its start is seen
    print(
        f"{name:10s} throughput: {throughput['replies']}/{throughput['updates']} updates in {throughput['seconds']:.1f} s = "
        f"{throughput['per_second']:7.1f} updates/s, failed {throughput['failures']}, bot CPU {throughput['cpu_ms']:.2f} ms/update, "
        + ("" if throughput["instructions"] is None else f"bot {throughput['instructions']:,.0f} instructions/update, ")
        + f"harness (sandbox + load) {throughput['harness_cpu_share']:.0%} of a core; "
        f"load average {throughput['load']}",
        flush=True,
    )
    print(
        f"{name:10s} latency at {args.concurrent} concurrent users: p50 {percentile(latency['latencies'], 0.5):6.1f} ms  "
        f"p99 {percentile(latency['latencies'], 0.99):6.1f} ms  ({latency['replies']} replies, failed {latency['failures']}); "
        f"load average {latency['load']}",
        flush=True,
    )
    return {"throughput": throughput, "latency": latency}


def start_web_processes(
    count: int,
    db: ScaleDatabase,
    *,
    port: int,
    sandbox_url: str,
    token: str,
    redis_url: str,
    namespace: str,
    throttle_limit: int,
) -> list[subprocess.Popen]:
    env = {
        **os.environ,
        "PYTHONPATH": str(REPO_ROOT),
        "DATABASE_URL": db.url,
        "REDIS_URL": redis_url,
        "REDIS_NAMESPACE": namespace,
        "TELEGRAM_BOT_TOKEN": token,
        "TELEGRAM_API_URL": sandbox_url,
        "PORT": str(port),
        "WEBHOOK_URL": f"http://127.0.0.1:{port}{web_throughput.WEBHOOK_PATH}",
        "WEBHOOK_SECRET": web_throughput.SECRET,
        "WEB_REUSE_PORT": "true",
        "BOT_THROTTLE_LIMIT": str(throttle_limit),
        "LOG_LEVEL": "ERROR",
        "OTEL_EXPORTER_OTLP_ENDPOINT": "",
    }
    return [subprocess.Popen([sys.executable, "-m", "zenith", "web"], cwd=REPO_ROOT, env=env) for _ in range(count)]


async def measure_webhook(state: SandboxState, sandbox_url: str, token: str, db: ScaleDatabase, args) -> list[dict]:
    replies: list[float] = []
    failed: list[float] = []
    original = state.record

    def record(kind, chat_id, message_id=None, **data):
        if kind == "message":
            text = ((data.get("message") or {}).get("text") or "").strip()
            (failed if text in web_throughput.FAILURE_TEXTS else replies).append(time.perf_counter())
        return original(kind, chat_id, message_id, **data)

    state.record = record
    for user_id in range(1, db.users + 1):  # the creators the updates come from have a chat with the bot
        state.add_user(db.telegram_id(user_id), first_name=db.first_name(db.telegram_id(user_id)))
    rows = []
    try:
        for run, count in enumerate(args.webhook_processes):
            port = web_throughput.free_port()
            namespace = f"bench-{uuid.uuid4().hex[:8]}"
            processes = start_web_processes(
                count,
                db,
                port=port,
                sandbox_url=sandbox_url,
                token=token,
                redis_url=args.redis_url,
                namespace=namespace,
                throttle_limit=args.throttle_limit,
            )
            try:
                for process in processes:
                    await web_throughput.wait_until_serving(f"http://127.0.0.1:{port}", process, timeout=120)
                await asyncio.sleep(2.0)  # every process has opened its port and registered the webhook
                replies.clear()
                failed.clear()
                before = load_average()
                started = time.perf_counter()
                result = await web_throughput.run_aiohttp(
                    f"http://127.0.0.1:{port}{web_throughput.WEBHOOK_PATH}",
                    target="help",
                    connections=args.webhook_connections,
                    seconds=args.webhook_seconds,
                    first=10_000_000 * (run + 1),
                    users=db.users,
                )
                accepted = result["requests"] - result["non2xx"]
                deadline = time.perf_counter() + 20
                while len(replies) + len(failed) < accepted and time.perf_counter() < deadline:
                    await asyncio.sleep(0.2)
                handled = len(replies)
                rows.append(
                    {
                        "processes": count,
                        "rps": result["rps"],
                        "non2xx": result["non2xx"],
                        "accepted": accepted,
                        "handled": handled,
                        "failed": len(failed),
                        "load": f"{before} -> {load_average()}",
                        "handled_rate": handled / (max(replies) - started) if replies else 0.0,
                    }
                )
            finally:
                for process in processes:
                    stop_process(process)
                _delete_namespace(args.redis_url, namespace)
    finally:
        state.record = original
    return rows


def _delete_namespace(redis_url: str, namespace: str) -> None:
    client = redis.Redis.from_url(redis_url)
    for key in client.scan_iter(match=f"{namespace}:*", count=1000):
        client.delete(key)


async def polling_round(
    sandbox, clock: ReplyClock, db: ScaleDatabase, args, meter: InstructionMeter | None = None
) -> tuple[dict, dict]:
    """One echo run and one zenith run, each from the same state: no seen marks, empty Redis keys."""
    with psycopg.connect(db.url, autocommit=True) as conn:  # every creator's first message marks them seen again
        conn.execute("UPDATE users SET last_seen_at = NULL")
    namespace = f"bench-{uuid.uuid4().hex[:8]}"
    wrap = list if meter is None else meter.command  # both bots started the same way
    try:
        echo = await measure_polling(
            "echo",
            start_echo(sandbox_url=sandbox.url, token=sandbox.token, wrap=wrap),
            sandbox.state,
            clock,
            db,
            args,
            meter,
        )
        os.environ["BOT_THROTTLE_LIMIT"] = str(args.throttle_limit)
        if meter is not None:  # tens of times slower under callgrind: 5 s would answer some updates "busy"
            os.environ["DATABASE_DEADLINE_SECONDS"] = "120"
        zenith = await measure_polling(
            "zenith bot",
            start_bot(
                db,
                sandbox_url=sandbox.url,
                token=sandbox.token,
                redis_url=args.redis_url,
                namespace=namespace,
                wrap=wrap,
            ),
            sandbox.state,
            clock,
            db,
            args,
            meter,
        )
    finally:
        _delete_namespace(args.redis_url, namespace)
    return echo, zenith


async def measure(db: ScaleDatabase, args, meter: InstructionMeter | None = None) -> None:
    async with start_sandbox() as sandbox:
        clock = ReplyClock(sandbox.state)
        ratios, cpu, counted = [], [], []
        for _ in range(args.rounds):
            echo, zenith = await polling_round(sandbox, clock, db, args, meter)
            ratio = zenith["throughput"]["per_second"] / echo["throughput"]["per_second"]
            ratios.append(ratio)
            cpu.append((echo["throughput"]["cpu_ms"], zenith["throughput"]["cpu_ms"]))
            if meter is not None:
                counted.append((echo["throughput"]["instructions"], zenith["throughput"]["instructions"]))
                print(
                    f"RESULT instructions per update: echo {counted[-1][0]:,.0f}, zenith bot {counted[-1][1]:,.0f}, "
                    f"echo/zenith {counted[-1][0] / counted[-1][1]:.3f}",
                    flush=True,
                )
            p99_echo = percentile(echo["latency"]["latencies"], 0.99)
            p99_zenith = percentile(zenith["latency"]["latencies"], 0.99)
            print(
                f"RESULT polling: echo {echo['throughput']['per_second']:.1f} updates/s, zenith bot "
                f"{zenith['throughput']['per_second']:.1f} updates/s, ratio {ratio:.2f}x; p99 at {args.concurrent} users: "
                f"echo {p99_echo:.1f} ms, zenith bot {p99_zenith:.1f} ms",
                flush=True,
            )
        if args.rounds > 1:  # the host's noise between runs is larger than many changes: judge the median
            print(
                f"RESULT polling, median of {args.rounds} rounds: ratio {statistics.median(ratios):.2f}x "
                f"({', '.join(f'{r:.2f}' for r in ratios)}); CPU per update echo "
                f"{statistics.median(c[0] for c in cpu):.2f} ms, zenith bot {statistics.median(c[1] for c in cpu):.2f} ms"
                + (
                    f"; instructions per update echo {statistics.median(c[0] for c in counted):,.0f}, "
                    f"zenith bot {statistics.median(c[1] for c in counted):,.0f}"
                    if counted
                    else ""
                )
            )
        if args.webhook_processes:
            rows = await measure_webhook(sandbox.state, sandbox.url, sandbox.token, db, args)
            print(f"webhook scaling ({args.webhook_connections} connections, {args.webhook_seconds} s per row, /help):")
            print(
                "| processes | accepted req/s | 503 answers | handled updates/s | handled | error replies | load average |"
            )
            print("| --- | --- | --- | --- | --- | --- | --- |")
            for row in rows:
                print(
                    f"| {row['processes']} | {row['rps']:.1f} | {row['non2xx']} | {row['handled_rate']:.1f} | "
                    f"{row['handled']}/{row['accepted']} | {row['failed']} | {row['load']} |"
                )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--users", type=int, default=1000)
    parser.add_argument("--messages", type=int, default=3)
    parser.add_argument(
        "--texts",
        type=lambda value: tuple(text for text in value.split(",") if text),
        default=TEXTS,
        help="what each creator sends, in turn (default /help,/balance)",
    )
    parser.add_argument(
        "--rounds",
        type=int,
        default=1,
        help="polling runs of both bots, one pair after the other; the median ratio too",
    )
    parser.add_argument("--concurrent", type=int, default=10)
    parser.add_argument("--latency-messages", type=int, default=30)
    parser.add_argument("--throttle-limit", type=int, default=0, help="BOT_THROTTLE_LIMIT of zenith (0: off)")
    parser.add_argument(
        "--webhook-processes",
        type=lambda raw: [int(p) for p in raw.split(",") if p.strip()],
        default=[1, 2],
        help="comma-separated process counts; empty: skip the webhook table",
    )
    parser.add_argument("--webhook-seconds", type=int, default=10)
    parser.add_argument("--webhook-connections", type=int, default=32)
    parser.add_argument("--redis-url", default=os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/0"))
    parser.add_argument(
        "--count",
        choices=("cpu", "instructions"),
        default="cpu",
        help="instructions: run both bots under valgrind's callgrind and count what each executes per update",
    )
    parser.add_argument("--keep-dumps", type=Path, help="with --count instructions: keep each callgrind dump here")
    args = parser.parse_args()
    if args.concurrent > args.users or args.webhook_seconds > 50:
        parser.error("--concurrent must be <= --users and --webhook-seconds <= 50")
    print(f"loading: {args.users + 300} users ...", flush=True)
    with scale_database(users=args.users + 300, videos=max(5_000, args.users + 300), snapshots_per_video=1) as db:
        print(f"loaded in {sum(db.seconds.values()):.1f} s; load average {load_average()}", flush=True)
        meter = InstructionMeter(keep=args.keep_dumps) if args.count == "instructions" else None
        try:
            asyncio.run(measure(db, args, meter))
        finally:
            if meter is not None:
                meter.close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
