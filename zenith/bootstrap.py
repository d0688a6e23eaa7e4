"""Start-up and shut-down shared by every process: logs, traces, metrics, heartbeat, signals.

Each entry point (``zenith worker``, ``clock``, ``bot``, ``web``, ``supervise`` / ``up``)
runs its work inside ``process_lifetime``::

    with process_lifetime(settings, role="clock"):
        asyncio.run(main())

so JSON logs, tracing and the role's /metrics port are set up the same way everywhere,
and the spans of the last work are flushed whatever the exit path. Inside an event loop,
``start_loop_heartbeat`` tells the supervisor the loop is alive and ``stop_on_signals``
turns SIGTERM / SIGINT into an event to wait for.
"""

from __future__ import annotations

import asyncio
import gc
import os
import signal
from contextlib import contextmanager
from typing import Any, Coroutine, Iterator, TypeVar

import uvloop

from zenith.config import Settings
from zenith.supervisor.heartbeat import HEARTBEAT_FILE_ENV, Heartbeat, loop_liveness, start_heartbeat
from zenith.telemetry.logs import setup_logging
from zenith.telemetry.metrics import serve_role_metrics
from zenith.telemetry.tracing import setup_tracing, shutdown_tracing

# the event loop may be unresponsive this long before the heartbeat stops (the supervisor
# then kills the process after its pool's heartbeat timeout, 60 s by default)
LOOP_MAX_LAG_SECONDS = 10.0

# objects allocated (net) between collections of the youngest generation; Python's 700 suits
# a script, while handling one update allocates thousands (aiogram's and pydantic's models):
# benchmarks/bot_dispatch_cost.py measured 100-120 us of collections per update with
# Python's settings (--heap default) and 1-1.5 us after settle_heap
YOUNG_COLLECTION_THRESHOLD = 10_000

T = TypeVar("T")


def run_event_loop(main: Coroutine[Any, Any, T]) -> T:
    """``asyncio.run`` on uvloop: its sockets and callbacks cost a fraction of asyncio's,
    which is most of what the bot and web processes do per update besides aiogram."""
    return uvloop.run(main)


@contextmanager
def process_lifetime(
    settings: Settings, *, role: str, tracing: bool = True, instrument_libraries: bool = True, metrics: bool = True
) -> Iterator[None]:
    """Set up this process as ``role``; flush and stop tracing on the way out.

    Parameters:
      settings: the process settings.
      role: the process role ("bot", "clock", "web", "worker-parsing", "supervisor", ...):
        the logs' ``role`` and the traces' ``service.name`` ("zenith-" + role).
      tracing: set tracing up here (False: someone else does, e.g. a worker's Dramatiq
        middleware, for the workers tests build in-process too).
      instrument_libraries: instrument psycopg, redis and aiohttp-client (tracing only).
      metrics: serve /metrics on the role's port (METRICS_PORT; the web process serves
        its own on PORT, the supervisor has none).
    """
    setup_logging(settings, role=role)
    if tracing:
        setup_tracing(settings, role=role, instrument_libraries=instrument_libraries)
    if metrics:
        serve_role_metrics(settings, role=role)
    try:
        yield
    finally:
        shutdown_tracing()  # flush the spans of the last work before the process exits


def settle_heap() -> None:
    """Once start-up has built what the process keeps for life, take it out of the garbage
    collector's sight (``gc.freeze``), so collections walk only what the work creates, and
    collect the youngest generation every ``YOUNG_COLLECTION_THRESHOLD`` allocations.

    After start-up the bot process holds about 290,000 objects (aiogram's and
    pydantic's models and schemas, routers) that never become garbage. A full collection
    walked them all: 194-245 ms on a 2-core host, with the event loop (or every worker
    thread) stopped. Call it last in start-up, before the process takes work; calling it
    again later is harmless.
    """
    gc.collect()  # what start-up left as garbage is freed, not frozen
    gc.freeze()
    _, older, oldest = gc.get_threshold()
    gc.set_threshold(YOUNG_COLLECTION_THRESHOLD, older, oldest)


def start_loop_heartbeat(*, max_lag: float = LOOP_MAX_LAG_SECONDS) -> Heartbeat | None:
    """Under the supervisor, beat while the running event loop answers within ``max_lag`` s.

    Outside a supervisor nothing is started (None), so it is safe everywhere.
    """
    if not os.environ.get(HEARTBEAT_FILE_ENV):
        return None
    return start_heartbeat(alive=loop_liveness(asyncio.get_running_loop(), max_lag=max_lag))


def stop_on_signals() -> asyncio.Event:
    """An event the running loop sets on SIGTERM or SIGINT."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    return stop
