"""Prometheus metrics of one process, and the ways to expose them.

Each process has its own registry (``get_metrics()``) and serves it on its own port:
the web process at ``/metrics`` of its aiohttp app (``metrics_handler``), every other
process (bot, clock, each Dramatiq worker process) with ``start_metrics_server`` on
``METRICS_PORT`` (0: off). A pool of several worker processes gives each process its own
port, ``metrics_port_for(base, process_index=i)`` = base + i, and Prometheus scrapes each
one; no shared multiprocess directory to clean up, and gauges stay per process.
"""

from __future__ import annotations

import logging
import os
import threading
from dataclasses import dataclass

from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.exposition import start_http_server

logger = logging.getLogger(__name__)

# Parsing a video should take 2-5 s (DESIGN targets); buckets straddle that.
PROCESSING_BUCKETS = (0.1, 0.25, 0.5, 1, 2, 3, 5, 8, 13, 21, 34, 60, 120)
MESSAGE_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300)
# A bot answer should take 50-200 ms (DESIGN targets).
UPDATE_BUCKETS = (0.01, 0.025, 0.05, 0.1, 0.2, 0.35, 0.5, 1, 2, 5, 10)


# Put a CollectorRegistry here to serve it instead of get_metrics().registry.
METRICS_REGISTRY_KEY = web.AppKey("zenith_metrics_registry", CollectorRegistry)


class MetricsServerError(RuntimeError):
    """The /metrics HTTP server could not start (usually: the port is taken)."""


@dataclass(frozen=True)
class ZenithMetrics:
    """Every metric of the service, registered on one registry.

    Usage: ``get_metrics().video_submissions.labels(platform="youtube", status="accepted").inc()``.
    """

    registry: CollectorRegistry
    video_submissions: Counter
    video_processing_seconds: Histogram
    active_users: Gauge
    queue_depth: Gauge
    dramatiq_message_retries: Counter
    dramatiq_messages: Counter
    dramatiq_message_duration_seconds: Histogram
    payouts: Counter
    platform_errors: Counter
    bot_update_seconds: Histogram
    cache_requests: Counter
    cache_fills: Counter

    @classmethod
    def create(cls, registry: CollectorRegistry | None = None) -> "ZenithMetrics":
        """Build the metrics on ``registry`` (default: a new one)."""
        registry = registry if registry is not None else CollectorRegistry()
        return cls(
            registry=registry,
            video_submissions=Counter(
                "video_submissions",
                "Video links submitted, by outcome (accepted, duplicate, rejected, ...)",
                ["platform", "status"],
                registry=registry,
            ),
            video_processing_seconds=Histogram(
                "video_processing_seconds",
                "Time to fetch and store one video's stats",
                ["platform"],
                buckets=PROCESSING_BUCKETS,
                registry=registry,
            ),
            active_users=Gauge(
                "active_users",
                "Creators with a video submitted or checked, or a payout requested, in the last 24 h (sampled by the clock)",
                registry=registry,
            ),
            queue_depth=Gauge(
                "queue_depth", "Messages waiting in a Dramatiq queue (set by the sampler)", ["queue"], registry=registry
            ),
            dramatiq_message_retries=Counter(
                "dramatiq_message_retries",
                "Messages scheduled for another attempt after a failure",
                ["queue", "actor"],
                registry=registry,
            ),
            dramatiq_messages=Counter(
                "dramatiq_messages",
                "Messages processed, by outcome (success, retried, failed, skipped)",
                ["queue", "actor", "outcome"],
                registry=registry,
            ),
            dramatiq_message_duration_seconds=Histogram(
                "dramatiq_message_duration_seconds",
                "Time an actor spent on one message",
                ["queue", "actor"],
                buckets=MESSAGE_BUCKETS,
                registry=registry,
            ),
            payouts=Counter(
                "payouts", "Payouts reaching a status (paid, failed, refunded, ...)", ["status"], registry=registry
            ),
            platform_errors=Counter(
                "platform_errors",
                "Errors calling a platform (quota, timeout, not_found, http_5xx, ...)",
                ["platform", "kind"],
                registry=registry,
            ),
            bot_update_seconds=Histogram(
                "bot_update_seconds",
                "Time the bot took to handle one Telegram update, answer included",
                ["kind"],
                buckets=UPDATE_BUCKETS,
                registry=registry,
            ),
            cache_requests=Counter(
                "cache_requests",
                "Cache reads by result (hit, miss, error: Redis unreachable, read from PostgreSQL)",
                ["cache", "result"],
                registry=registry,
            ),
            cache_fills=Counter(
                "cache_fills", "Values loaded from PostgreSQL and stored in the cache", ["cache"], registry=registry
            ),
        )


_lock = threading.Lock()
_metrics: ZenithMetrics | None = None


def get_metrics() -> ZenithMetrics:
    """The process-wide metrics (created on first use)."""
    global _metrics
    with _lock:
        if _metrics is None:
            _metrics = ZenithMetrics.create()
        return _metrics


def render_metrics(registry: CollectorRegistry) -> bytes:
    """The registry in the Prometheus text format."""
    return generate_latest(registry)


def start_metrics_server(port: int, *, registry: CollectorRegistry | None = None, addr: str = "0.0.0.0"):
    """Serve ``registry`` at ``http://addr:port/metrics`` from a daemon thread; port 0: off.

    Parameters:
      port(int): TCP port (METRICS_PORT, or ``metrics_port_for(...)`` in a pool); 0 does nothing.
      registry(CollectorRegistry|None): Default: ``get_metrics().registry``.
      addr(str): Interface to bind. Default all.

    Returns the ``(server, thread)`` pair (call ``server.shutdown()`` to stop), or None when off.

    Raises:
      MetricsServerError: When the port cannot be bound.
    """
    if port == 0:
        return None
    if not 0 < port <= 65535:
        raise MetricsServerError(f"metrics port {port} is not a TCP port")
    try:
        return start_http_server(port, addr=addr, registry=registry if registry is not None else get_metrics().registry)
    except OSError as exc:
        raise MetricsServerError(f"cannot serve /metrics on {addr}:{port}: {exc}") from exc


def metrics_port_for(base_port: int, *, process_index: int) -> int:
    """Port of process ``process_index`` (0-based) of a pool whose first process uses ``base_port``; 0 stays off."""
    if base_port == 0:
        return 0
    if process_index < 0:
        raise ValueError("process_index must be >= 0")
    return base_port + process_index


# Every role gets its own block of ports above METRICS_PORT, so that all processes of one
# host (`zenith up`, or a worker dyno running several pools) can serve /metrics at once:
# process i of role r listens on METRICS_PORT + ROLE_PORT_BLOCKS[r] * PORTS_PER_ROLE + i.
PORTS_PER_ROLE = 10
ROLE_PORT_BLOCKS = {
    "bot": 0,
    "clock": 1,
    "worker-all": 2,
    "worker-submission": 3,
    "worker-parsing": 4,
    "worker-rates": 5,
    "worker-payouts": 6,
    "worker-notifications": 7,
    "supervisor": 8,
}
OTHER_ROLES_BLOCK = 9  # workers on a custom mix of queues ("worker-parsing+submission")


def role_metrics_port(base_port: int, *, role: str, process_index: int = 0) -> int:
    """Port of process ``process_index`` of role ``role`` (see ROLE_PORT_BLOCKS); 0 stays off.

    Parameters:
      base_port(int): METRICS_PORT; 0 turns metrics servers off.
      role(str): The process role ("bot", "clock", "worker-parsing", ...).
      process_index(int): ZENITH_PROCESS_INDEX of the process within its pool (0-based).

    Raises:
      MetricsServerError: When the index does not fit the role's block or the port is past 65535.
    """
    if base_port == 0:
        return 0
    if not 0 <= process_index < PORTS_PER_ROLE:
        raise MetricsServerError(
            f"process index {process_index} has no metrics port (at most {PORTS_PER_ROLE} per role)"
        )
    block = ROLE_PORT_BLOCKS.get(role, OTHER_ROLES_BLOCK)
    port = metrics_port_for(base_port + block * PORTS_PER_ROLE, process_index=process_index)
    if port > 65535:
        raise MetricsServerError(f"metrics port {port} of {role} is past 65535; lower METRICS_PORT")
    return port


PROCESS_INDEX_ENV = "ZENITH_PROCESS_INDEX"  # set by the supervisor and `zenith worker -p N`


def serve_role_metrics(settings, *, role: str, process_index: int | None = None):
    """Start this process's /metrics server at its role's port; log (never raise) when it cannot.

    Parameters:
      settings(Settings): METRICS_PORT (0: nothing is started).
      role(str): The process role, as given to ``setup_logging``.
      process_index(int|None): Index within the pool; default ``$ZENITH_PROCESS_INDEX`` or 0.

    Returns what ``start_metrics_server`` returns, or None. A taken port must not stop a
    worker from working, so failures are logged as errors instead.
    """
    if process_index is None:
        process_index = int(os.environ.get(PROCESS_INDEX_ENV) or 0)
    try:
        port = role_metrics_port(settings.metrics_port, role=role, process_index=process_index)
        served = start_metrics_server(port)
    except MetricsServerError as exc:
        logger.error("no /metrics for this process: %s", exc)
        return None
    if served is not None:
        logger.info("metrics on :%d/metrics", port, extra={"metrics_port": port})
    return served


async def metrics_handler(request):
    """aiohttp handler for ``GET /metrics`` of the web process (``get_metrics().registry``).

    A different registry can be put in the app as ``app[METRICS_REGISTRY_KEY]``.
    """
    registry = request.app.get(METRICS_REGISTRY_KEY) or get_metrics().registry
    body = render_metrics(registry)
    response = web.Response(body=body)
    response.content_type = CONTENT_TYPE_LATEST.split(";")[0]
    response.charset = "utf-8"
    return response
