"""Videos/s of our parsing pipeline against the scaling plan's stage-2 Celery design, in one run.

    PYTHONPATH=. .venv/bin/python benchmarks/pipeline_vs_celery.py [--videos 3000] [--latencies 0,2000]
        [--threads 32] [--celery-concurrency 8] [--baseline-timeout 60] [--rounds 1] [--modes baseline,off,on]

For each platform latency (the fake YouTube Data API answering at once, or after 2 s) and
each round, on the same number of YouTube videos, one after the other:

* ``baseline``: ``benchmarks/celery_baseline`` -- one Celery task per video, asyncio.run per
  task, asyncpg, Redis broker; a ``celery worker`` with ``--celery-concurrency`` prefork
  processes (default 8: more processes than that on 2 cores made it slower, 42 videos/s
  at 32 against 121 at 8). It gives up after
  ``--baseline-timeout`` seconds and reports the rate up to then (at 2 s a call, 8 processes
  check 4 videos/s: 3,000 would take 12 minutes);
* ``off``: ours, as ``benchmarks/parsing_throughput.py`` runs it: a real
  ``zenith worker --queues parsing --threads 32`` process (as the parsing pool runs it),
  one clock tick, the fakes; tracing off;
* ``on``: the same with every video traced at the default settings, the worker exporting
  over OTLP/HTTP to a local sink that accepts and discards the requests.

Each run has its own database and Redis keys. The clock starts just before the first
message is sent (the tick, or the first ``delay``) and stops when a poll (every 50 ms)
sees every video checked. Prints one line per run (with our worker's CPU per video), then
per latency a ``RESULT`` line: the median videos/s of each mode, ours / baseline and
traced / untraced, the median worker CPU per video untraced and traced (steadier than
videos/s on a noisy host), and the 1-minute load average.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from dataclasses import dataclass
from datetime import datetime, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import psycopg
import redis

from benchmarks.bot_response import process_cpu_seconds
from benchmarks.instruction_meter import InstructionMeter
from benchmarks.parsing_throughput import seed, with_latency
from tests.conftest import create_database, create_migrated_database, drop_database
from tests.fakes import tiktok as fake_tiktok
from tests.fakes import youtube as fake_youtube
from tests.fakes.server import run_in_thread
from zenith.actors.clock import tick
from zenith.actors.runtime import Runtime
from zenith.config import load_settings
from zenith.messaging.broker import build_broker
from zenith.storage.db import open_pool

REPO_ROOT = Path(__file__).resolve().parents[1]
POLL_SECONDS = 0.05
SETTLE_SECONDS = 7.0  # longer than the batch span processor's schedule delay (5 s)
MODES = ("baseline", "off", "on")
LABELS = {"baseline": "baseline (Celery)", "off": "ours, tracing off", "on": "ours, tracing on"}


@dataclass(frozen=True)
class Run:
    mode: str
    latency_ms: int
    done: int
    total: int
    seconds: float
    transfers: int
    notices: int
    cpu_seconds: float | None = None  # our worker process's CPU over the run (None: the baseline)
    instructions: int | None = None  # with --count instructions: what the worker executed (callgrind)
    threads: ThreadTimes | None = None  # the worker's threads over the run: where its CPU went

    @property
    def rate(self) -> float:
        return self.done / self.seconds if self.seconds else 0.0

    @property
    def cpu_ms_per_video(self) -> float | None:
        """Our worker's CPU per checked video: steadier than videos/s on a noisy host, and
        what tracing adds to it is what it costs (PostgreSQL's and Redis's share aside)."""
        return self.cpu_seconds / self.done * 1000 if self.cpu_seconds is not None and self.done else None

    @property
    def instructions_per_video(self) -> float | None:
        return self.instructions / self.done if self.instructions is not None and self.done else None


class _Sink(BaseHTTPRequestHandler):
    """An OTLP/HTTP receiver that reads each request whole and answers 200."""

    requests = 0
    last_request = 0.0  # time.monotonic() of the latest

    def do_POST(self):  # noqa: N802 (http.server's naming)
        self.rfile.read(int(self.headers.get("Content-Length", 0)))
        type(self).requests += 1
        type(self).last_request = time.monotonic()
        self.send_response(200)
        self.send_header("Content-Type", self.headers.get("Content-Type", "application/json"))  # as sent
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args):
        return None


@dataclass(frozen=True)
class ThreadTimes:
    """Summed over a process's threads (from /proc): CPU in user and kernel mode, and how
    often they were switched out waiting (voluntary: a lock, the GIL, I/O) or preempted."""

    user: float
    system: float
    voluntary: int
    involuntary: int

    def __sub__(self, other: ThreadTimes) -> ThreadTimes:
        return ThreadTimes(
            self.user - other.user,
            self.system - other.system,
            self.voluntary - other.voluntary,
            self.involuntary - other.involuntary,
        )


def thread_times(pid: int) -> ThreadTimes:
    """``ThreadTimes`` of ``pid``'s threads alive now (the worker's threads live as long as it)."""
    tick = os.sysconf("SC_CLK_TCK")
    user = system = 0.0
    voluntary = involuntary = 0
    for task in Path(f"/proc/{pid}/task").iterdir():
        try:
            fields = (task / "stat").read_text().rsplit(")", 1)[1].split()
            status = (task / "status").read_text()
        except FileNotFoundError:  # a thread that ended meanwhile
            continue
        user += int(fields[11]) / tick
        system += int(fields[12]) / tick
        for line in status.splitlines():
            if line.startswith("voluntary_ctxt_switches:"):
                voluntary += int(line.split()[1])
            elif line.startswith("nonvoluntary_ctxt_switches:"):
                involuntary += int(line.split()[1])
    return ThreadTimes(user, system, voluntary, involuntary)


def load_average() -> float:
    return os.getloadavg()[0]


def count_checked(database_url: str, *, notices: str) -> tuple[int, int, int]:
    """(videos checked, ledger transfers, rows of the ``notices`` table) in the run's database."""
    with psycopg.connect(database_url, autocommit=True) as conn:
        row = conn.execute(
            f"""
            SELECT (SELECT count(*) FROM videos WHERE last_checked_at IS NOT NULL),
                   (SELECT count(*) FROM ledger_transfers WHERE kind = 'earning'),
                   (SELECT count(*) FROM {notices})
            """
        ).fetchone()
    assert row is not None
    return row[0], row[1], row[2]


def wait_checked(database_url: str, total: int, *, started: float, timeout: float, process) -> tuple[int, float]:
    """Poll until ``total`` videos are checked or ``timeout`` passes; (checked, seconds from ``started``)."""
    with psycopg.connect(database_url, autocommit=True) as conn:
        while True:
            row = conn.execute("SELECT count(*) FROM videos WHERE last_checked_at IS NOT NULL").fetchone()
            done = row[0] if row else 0
            elapsed = time.monotonic() - started
            if done >= total or elapsed >= timeout:
                return done, elapsed
            if process.poll() is not None:
                raise SystemExit(f"worker exited with {process.returncode}")
            time.sleep(POLL_SECONDS)


def stop(process: subprocess.Popen | None) -> None:
    if process is None or process.poll() is not None:
        return
    process.send_signal(signal.SIGTERM)
    try:
        process.wait(timeout=30)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def delete_keys(redis_url: str, pattern: str) -> None:
    client = redis.Redis.from_url(redis_url)
    for key in client.scan_iter(match=pattern, count=1000):
        client.delete(key)
    client.close()


def youtube_ids(count: int) -> list[str]:
    return [f"b{i:010d}" for i in range(count)]


def run_baseline(args, *, latency_ms: int) -> Run:
    """The Celery baseline on ``args.videos`` videos; gives up after ``args.baseline_timeout`` s."""
    from benchmarks.celery_baseline import schema, tasks

    database_url = create_database("zenith_baseline")
    state = fake_youtube.FakeYouTubeState()
    external_ids = youtube_ids(args.videos)
    for i, external in enumerate(external_ids):
        state.add_video(external, views=1_000 + i, channel_id="UCbenchmark")
    worker = None
    try:
        with run_in_thread(with_latency(fake_youtube.build_app(state), latency_ms), state) as yt:
            ids = asyncio.run(schema.create(database_url, user_id=1, external_ids=external_ids))
            env = {
                **os.environ,
                "PYTHONPATH": str(REPO_ROOT),
                "BASELINE_DATABASE_URL": database_url,
                "BASELINE_YOUTUBE_URL": yt.url + "/youtube/v3",
                "BASELINE_YOUTUBE_KEY": state.api_key,
            }
            worker = subprocess.Popen(
                [
                    *(sys.executable, "-m", "celery", "-A", "benchmarks.celery_baseline.tasks", "worker"),
                    *("--pool", "prefork", "--concurrency", str(args.celery_concurrency), "-Q", tasks.QUEUE),
                    *("--without-gossip", "--without-mingle", "--without-heartbeat", "--loglevel", "WARNING"),
                ],
                cwd=REPO_ROOT,
                env=env,
                stdout=subprocess.DEVNULL,  # its start-up banner; warnings and errors go to stderr
            )
            wait_for_celery(tasks.app, worker)
            started = time.monotonic()
            for video_id in ids:
                tasks.parse_video_task.delay(video_id)
            done, seconds = wait_checked(
                database_url, len(ids), started=started, timeout=args.baseline_timeout, process=worker
            )
            stop(worker)
            worker = None
            _, transfers, notices = count_checked(database_url, notices="notices")
            if not asyncio.run(schema.ledger_balanced(database_url)):
                raise SystemExit("baseline: the ledger does not add up")
            return Run("baseline", latency_ms, done, len(ids), seconds, transfers, notices)
    finally:
        stop(worker)
        delete_keys(args.redis_url, os.environ["BASELINE_KEY_PREFIX"] + "*")
        drop_database(database_url)


def wait_for_celery(app, worker: subprocess.Popen, timeout: float = 120) -> None:
    """Until the worker answers a ping (its processes forked, its queue consumed)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if worker.poll() is not None:
            raise SystemExit(f"celery worker exited with {worker.returncode}")
        if app.control.ping(timeout=0.5):
            return
    raise SystemExit("celery worker did not answer a ping")


def run_ours(args, *, latency_ms: int, traced: bool, endpoint: str, meter: InstructionMeter | None = None) -> Run:
    """Our pipeline on ``args.videos`` videos: a real worker process, one clock tick.

    With a ``meter`` the worker runs under callgrind and the run counts its instructions
    from the tick until every video is checked and its spans exported (see ``settle``).
    """
    return asyncio.run(_run_ours(args, latency_ms=latency_ms, traced=traced, endpoint=endpoint, meter=meter))


def settle(since: float) -> None:
    """Until the OTLP sink has heard nothing for SETTLE_SECONDS after ``since`` (when the last
    video was seen checked): the batch span processor sends what is left within its 5 s
    schedule delay, and a metered run counts that too. An untraced run waits as long, so
    both count the same idle time."""
    while time.monotonic() - max(_Sink.last_request, since) < SETTLE_SECONDS:
        time.sleep(POLL_SECONDS)


async def _run_ours(args, *, latency_ms: int, traced: bool, endpoint: str, meter: InstructionMeter | None) -> Run:
    namespace = f"bench-{uuid.uuid4().hex[:8]}"
    database_url = await asyncio.to_thread(create_migrated_database, "zenith_bench")
    yt_state, tt_state = fake_youtube.FakeYouTubeState(), fake_tiktok.FakeTikTokState()
    worker = None
    heartbeat = Path(tempfile.mkdtemp(prefix="bench-worker-")) / "heartbeat"
    try:
        with (
            run_in_thread(with_latency(fake_youtube.build_app(yt_state), latency_ms), yt_state) as yt,
            run_in_thread(fake_tiktok.build_app(tt_state), tt_state) as tt,
        ):
            env = {
                "DATABASE_URL": database_url,
                "REDIS_URL": args.redis_url,
                "REDIS_NAMESPACE": namespace,
                "YOUTUBE_API_KEY": yt_state.api_key,
                "YOUTUBE_API_URL": yt.url + "/youtube/v3",
                "TIKTOK_BASE_URL": tt.url,
                "ALLOW_PRIVATE_NETWORK": "true",
                "LOG_LEVEL": "WARNING",
            }
            settings = load_settings(env)
            pool = await open_pool(database_url, max_size=2)
            ids = await seed(pool, youtube=args.videos, tiktok=0, yt_state=yt_state, tt_state=tt_state)
            await pool.close()
            worker_env = {**os.environ, **env, "PYTHONPATH": str(REPO_ROOT), "ZENITH_HEARTBEAT_FILE": str(heartbeat)}
            worker_env.pop("OTEL_EXPORTER_OTLP_ENDPOINT", None)
            if traced:
                worker_env["OTEL_EXPORTER_OTLP_ENDPOINT"] = endpoint
            command = [sys.executable, "-m", "zenith", "worker", "--queues", "parsing", "--threads", str(args.threads)]
            worker = subprocess.Popen(
                command if meter is None else meter.command(command),
                cwd=REPO_ROOT,
                env=worker_env,
            )
            while not heartbeat.exists():  # touched once the worker consumes
                if worker.poll() is not None:
                    raise SystemExit(f"worker exited with {worker.returncode}")
                await asyncio.sleep(0.1)
            broker = build_broker(settings, redis_url=args.redis_url, namespace=namespace)
            runtime = Runtime(settings, broker=broker, database_url=database_url, redis_url=args.redis_url)
            if meter is not None:
                await asyncio.to_thread(meter.start, worker.pid)
            cpu_before, threads_before = process_cpu_seconds(worker.pid), thread_times(worker.pid)
            started = time.monotonic()
            await tick(datetime.now(timezone.utc), runtime=runtime)
            total = len(ids["youtube"])
            done, seconds = await asyncio.to_thread(
                wait_checked, database_url, total, started=started, timeout=args.ours_timeout, process=worker
            )
            instructions = None
            if meter is not None:
                await asyncio.to_thread(settle, time.monotonic())
                instructions = await asyncio.to_thread(meter.stop, worker.pid)
            cpu_seconds = process_cpu_seconds(worker.pid) - cpu_before
            threads = thread_times(worker.pid) - threads_before
            await runtime.close()
            broker.close()
            _, transfers, notices = count_checked(database_url, notices="outbox")
            mode = "on" if traced else "off"
            return Run(mode, latency_ms, done, total, seconds, transfers, notices, cpu_seconds, instructions, threads)
    finally:
        stop(worker)
        heartbeat.unlink(missing_ok=True)
        heartbeat.parent.rmdir()
        drop_database(database_url)
        delete_keys(args.redis_url, f"{namespace}:*")


def report(run: Run, *, concurrency: int, threads: int) -> None:
    what = f"{LABELS[run.mode]}, {concurrency if run.mode == 'baseline' else threads} {'processes' if run.mode == 'baseline' else 'threads'}"
    cpu, instructions = run.cpu_ms_per_video, run.instructions_per_video
    print(
        f"latency {run.latency_ms:5d} ms | {what:36s} {run.done:6d}/{run.total} videos in {run.seconds:7.2f} s "
        f"= {run.rate:8.1f} videos/s | transfers {run.transfers}, notices {run.notices}"
        f"{'' if cpu is None else f' | worker CPU {cpu:.3f} ms/video'}"
        f"{'' if instructions is None else f' | worker {instructions:,.0f} instructions/video'}"
        f"{'' if run.threads is None or not run.done else ' | ' + _thread_figures(run.threads, run.done)}"
        f" | load {load_average():.2f}",
        flush=True,
    )


def _thread_figures(threads: ThreadTimes, videos: int) -> str:
    return (
        f"user {threads.user / videos * 1000:.3f} + system {threads.system / videos * 1000:.3f} ms/video, "
        f"switches {threads.voluntary / videos:.2f} waiting + {threads.involuntary / videos:.2f} preempted per video"
    )


def summary(latency_ms: int, runs: list[Run]) -> str:
    rates = {mode: statistics.median(r.rate for r in runs if r.mode == mode) for mode in {r.mode for r in runs}}
    parts = [f"RESULT latency {latency_ms} ms:"]
    parts.append(", ".join(f"{LABELS[m]} {rates[m]:.1f} videos/s" for m in MODES if m in rates) + ";")
    if "baseline" in rates and rates["baseline"] > 0:
        for mode in ("on", "off"):
            if mode in rates:
                parts.append(
                    f"ours/baseline ({'traced' if mode == 'on' else 'untraced'}) {rates[mode] / rates['baseline']:.2f}x;"
                )
    if "on" in rates and "off" in rates and rates["off"] > 0:
        parts.append(f"traced/untraced {rates['on'] / rates['off']:.2f};")
        cpu = {
            mode: statistics.median(r.cpu_ms_per_video for r in runs if r.mode == mode and r.cpu_ms_per_video)
            for mode in ("on", "off")
        }
        # the throughput tracing would leave if the worker's CPU alone set the pace
        parts.append(
            f"worker CPU per video untraced {cpu['off']:.3f} ms, traced {cpu['on']:.3f} ms, "
            f"untraced/traced {cpu['off'] / cpu['on']:.2f};"
        )
        counted = [r for r in runs if r.instructions_per_video]
        if {r.mode for r in counted} >= {"on", "off"}:
            # the same ratio by instructions: what the host's speed does not move
            per_video = {
                mode: statistics.median(r.instructions_per_video for r in counted if r.mode == mode)
                for mode in ("on", "off")
            }
            parts.append(
                f"worker instructions per video untraced {per_video['off']:,.0f}, traced {per_video['on']:,.0f}, "
                f"untraced/traced {per_video['off'] / per_video['on']:.3f};"
            )
    parts.append(f"load average {load_average():.2f}")
    return " ".join(parts)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--videos", type=int, default=3000)
    parser.add_argument("--latencies", default="0,2000", help="comma-separated platform answer delays, ms")
    parser.add_argument("--threads", type=int, default=32, help="our worker's threads (the parsing pool runs 32)")
    parser.add_argument("--celery-concurrency", type=int, default=8, help="the Celery worker's prefork processes")
    parser.add_argument("--baseline-timeout", type=float, default=60.0, help="s before the baseline's rate is taken")
    parser.add_argument("--ours-timeout", type=float, default=600.0, help="s before our run's rate is taken")
    parser.add_argument("--rounds", type=int, default=1, help="runs of each mode per latency (medians reported)")
    parser.add_argument("--modes", default=",".join(MODES), help="which of baseline,off,on to run, in order")
    parser.add_argument("--redis-url", default=os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/0"))
    parser.add_argument(
        "--count",
        choices=("cpu", "instructions"),
        default="cpu",
        help="instructions: run our worker under valgrind's callgrind and count what it executes (modes off,on only)",
    )
    parser.add_argument(
        "--keep-dumps", type=Path, help="with --count instructions: copy each run's callgrind dump into this directory"
    )
    args = parser.parse_args()
    modes = [m for m in args.modes.split(",") if m]
    if not set(modes) <= set(MODES):
        parser.error(f"--modes takes {','.join(MODES)}")
    if args.count == "instructions" and "baseline" in modes:
        parser.error("--count instructions counts our worker only: --modes off,on")
    meter = InstructionMeter(keep=args.keep_dumps) if args.count == "instructions" else None
    # one broker key prefix and queue for every baseline run of this invocation; read by tasks at import
    tag = uuid.uuid4().hex[:8]
    os.environ["BASELINE_BROKER_URL"] = args.redis_url
    os.environ["BASELINE_KEY_PREFIX"] = f"bench-celery-{tag}:"
    os.environ["BASELINE_QUEUE"] = f"bench-celery-{tag}"
    sink = ThreadingHTTPServer(("127.0.0.1", 0), _Sink)
    threading.Thread(target=sink.serve_forever, daemon=True).start()
    endpoint = f"http://127.0.0.1:{sink.server_address[1]}"
    print(
        f"{args.videos} YouTube videos per run; our worker {args.threads} threads, Celery {args.celery_concurrency} "
        f"processes; load average {load_average():.2f}",
        flush=True,
    )
    results: list[str] = []
    try:
        for latency_ms in (int(x) for x in args.latencies.split(",") if x.strip()):
            runs: list[Run] = []
            for _ in range(args.rounds):
                for mode in modes:
                    if mode == "baseline":
                        run = run_baseline(args, latency_ms=latency_ms)
                    else:
                        run = run_ours(args, latency_ms=latency_ms, traced=mode == "on", endpoint=endpoint, meter=meter)
                    report(run, concurrency=args.celery_concurrency, threads=args.threads)
                    runs.append(run)
            results.append(summary(latency_ms, runs))
            print(results[-1], flush=True)
    finally:
        sink.shutdown()
        if meter is not None:
            meter.close()
    print(f"OTLP export requests received: {_Sink.requests}")
    for line in results:
        print(line)


if __name__ == "__main__":
    main()
