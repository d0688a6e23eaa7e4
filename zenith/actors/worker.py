"""The `zenith worker` command: Dramatiq workers for some or all queues.

One process (the default, and what the supervisor runs) hosts a `dramatiq.Worker`
in-process: SIGTERM/SIGINT stop the consumers, let in-flight messages finish (up to
`SHUTDOWN_TIMEOUT_MS`), close the runtime's resources and exit 0. With
``--processes N`` (N > 1) the command starts N such single-process children, forwards
SIGTERM to them, and exits when any child exits (so a supervisor restarts the pool).
"""

from __future__ import annotations

import argparse
import logging
import os
import signal
import subprocess
import sys
import threading
from typing import Sequence

import dramatiq

from zenith.actors.registry import UnknownQueue, modules_for_queues, register_actors
from zenith.actors.runtime import RuntimeMiddleware, configure_runtime
from zenith.config import Settings, get_settings
from zenith.messaging.broker import setup_broker
from zenith.messaging.contract import QUEUES
from zenith.telemetry.metrics import PROCESS_INDEX_ENV

logger = logging.getLogger(__name__)

# Heroku sends SIGKILL 30 s after SIGTERM; finish in-flight messages within that.
SHUTDOWN_TIMEOUT_MS = 25_000
# How long a consumer blocks on an empty queue; also how fast shutdown is noticed.
WORKER_TIMEOUT_MS = 1_000


def worker_role(queues: Sequence[str] | None) -> str:
    """The telemetry role of a worker process (``service.name`` is "zenith-" + role).

    One queue: ``worker-parsing``; several: ``worker-parsing+submission`` (sorted, joined
    with "+"); every queue (no ``--queues``, or all of them): ``worker-all``.
    """
    chosen = sorted(set(queues or ()))
    if not chosen or set(chosen) == set(QUEUES):
        return "worker-all"
    return "worker-" + "+".join(chosen)


def add_telemetry_middleware(broker: dramatiq.Broker, settings: Settings, *, role: str) -> None:
    """Set up tracing (when configured) and put the tracing/metrics middleware first."""
    from zenith.telemetry.dramatiq_middleware import install

    install(broker, settings=settings, service_name=role)


def build_worker(
    settings: Settings,
    *,
    queues: Sequence[str] | None = None,
    threads: int = 4,
    worker_timeout_ms: int = WORKER_TIMEOUT_MS,
    database_url: str | None = None,
    redis_url: str | None = None,
    broker: dramatiq.Broker | None = None,
    modules: Sequence[str] | None = None,
) -> dramatiq.Worker:
    """A ready-to-start worker: broker, telemetry, runtime and every actor registered.

    Parameters:
      settings: the process settings.
      queues: queues to consume (default: all of the contract's).
      threads: worker threads (messages processed at once).
      worker_timeout_ms: consumer poll timeout.
      database_url / redis_url: override the resolved URLs (tests).
      broker: an already built broker (tests with special brokers); default: setup_broker.
      modules: the actor modules to register (default: those of ``queues``, so a
        parsing worker never imports the notifications actor and aiogram).

    Raises `UnknownQueue` when ``queues`` names a queue that is not in the contract.
    """
    queue_modules = modules_for_queues(queues)
    if modules is None:
        modules = queue_modules
    if broker is None:
        broker = setup_broker(settings, redis_url=redis_url, namespace=settings.redis_namespace)
    else:
        dramatiq.set_broker(broker)
    add_telemetry_middleware(broker, settings, role=worker_role(queues))
    runtime = configure_runtime(settings, broker=broker, database_url=database_url, redis_url=redis_url)
    broker.add_middleware(RuntimeMiddleware(runtime))
    register_actors(broker, modules=modules)
    return dramatiq.Worker(
        broker, queues=set(queues) if queues else None, worker_threads=threads, worker_timeout=worker_timeout_ms
    )


def _resolve_redis_url(settings: Settings) -> str | None:
    if settings.broker_url and not settings.broker_url.startswith("redis"):
        return None
    if settings.redis_url:
        return None
    from zenith.storage.embedded import resolve_redis_url

    return resolve_redis_url(settings)


def _run_in_process(settings: Settings, *, queues: Sequence[str] | None, threads: int) -> int:
    stop = threading.Event()

    def on_signal(signum, frame):
        logger.info("signal %s: shutting down", signum)
        stop.set()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    worker = build_worker(settings, queues=queues, threads=threads, redis_url=_resolve_redis_url(settings))
    from zenith.bootstrap import settle_heap

    settle_heap()
    worker.start()
    from zenith.supervisor.heartbeat import start_heartbeat

    start_heartbeat()  # only under the supervisor (ZENITH_HEARTBEAT_FILE set); consumers are threads
    logger.info("worker started: queues=%s threads=%d", list(queues or QUEUES), threads)
    stop.wait()
    worker.stop(timeout=SHUTDOWN_TIMEOUT_MS)
    worker.broker.close()
    return 0


def _run_children(args: argparse.Namespace) -> int:
    argv = [sys.executable, "-m", "zenith", "worker", "--processes", "1", "--threads", str(args.threads)]
    if args.queues:
        argv += ["--queues", *args.queues]
    # each child serves /metrics on its own port (METRICS_PORT + role block + index)
    children = [
        subprocess.Popen(argv, env={**os.environ, PROCESS_INDEX_ENV: str(index)}) for index in range(args.processes)
    ]
    finished = threading.Event()

    def forward(signum, frame):
        finished.set()
        for child in children:
            if child.poll() is None:
                child.send_signal(signal.SIGTERM)

    signal.signal(signal.SIGTERM, forward)
    signal.signal(signal.SIGINT, forward)
    exit_code = 0
    while not finished.is_set():
        for child in children:
            if child.poll() is not None:
                exit_code = child.returncode or 1
                forward(signal.SIGTERM, None)
                break
        finished.wait(0.5)
    for child in children:
        child.wait()
    return exit_code


def run_worker(args: argparse.Namespace) -> int:
    """`zenith worker [--queues Q ...] [--processes N] [--threads T]`."""
    settings = get_settings()
    if args.processes < 1 or args.threads < 1:
        print("zenith worker: --processes and --threads must be >= 1", file=sys.stderr)
        return 2
    from zenith.bootstrap import process_lifetime

    in_process = args.processes == 1
    # tracing is set up by the Dramatiq middleware (build_worker); the children of
    # --processes N serve their own /metrics, the parent none
    with process_lifetime(settings, role=worker_role(args.queues), tracing=False, metrics=in_process):
        if not in_process:
            return _run_children(args)
        try:
            return _run_in_process(settings, queues=args.queues, threads=args.threads)
        except UnknownQueue as exc:
            print(f"zenith worker: {exc}", file=sys.stderr)
            return 2
