"""`zenith status`: the supervisors' pools and processes, and the depth of every queue.

Snapshots come from this machine's status file (DATA_DIR/status/supervisor.json) and,
when REDIS_URL is set, from every supervisor that published to Redis. The command exits
1 when no supervisor is running here or anywhere it can see (no snapshot, or only
stale or stopped ones) and 2 when a live supervisor has a pool that exhausted its restart
budget, so it doubles as a health check.
"""

from __future__ import annotations

import argparse
import json
import time
from typing import Any, Iterable, Mapping

from zenith.config import Settings, get_settings
from zenith.messaging.contract import QUEUES
from zenith.supervisor.publish import STATUS_KEY_PREFIX, status_file_path, status_key_prefix
from zenith.supervisor.slot import FAILED

LIVE_STATES = ("starting", "running", "stopping")
EXIT_NOT_RUNNING = 1
EXIT_POOL_FAILED = 2


def read_local_snapshot(settings: Settings) -> dict[str, Any] | None:
    try:
        return json.loads(status_file_path(settings.data_dir).read_text(encoding="utf-8"))
    except FileNotFoundError:
        return None
    except (OSError, ValueError):
        return None


def read_redis_snapshots(redis_url: str, *, prefix: str = STATUS_KEY_PREFIX) -> list[dict[str, Any]]:
    """Snapshots every supervisor published to Redis; [] when Redis is unreachable."""
    import redis
    from redis.exceptions import RedisError

    try:
        client = redis.Redis.from_url(redis_url, socket_timeout=2.0, socket_connect_timeout=2.0)
        try:
            keys = list(client.scan_iter(match=prefix + "*", count=100))
            values = client.mget(keys) if keys else []
        finally:
            client.close()
    except (RedisError, OSError):
        return []
    snapshots = []
    for raw in values:
        if raw is None:  # expired between SCAN and MGET
            continue
        try:
            snapshots.append(json.loads(raw))
        except (TypeError, ValueError):
            continue
    return snapshots


def is_fresh(snapshot: Mapping[str, Any], *, now: float | None = None) -> bool:
    """A running supervisor that published within three intervals (plus slack)."""
    current = time.time() if now is None else now
    interval = float(snapshot.get("interval") or 5.0)
    age = current - float(snapshot.get("published_at") or 0.0)
    return snapshot.get("supervisor", {}).get("state") in LIVE_STATES and age <= 3 * interval + 5.0


def queue_depths(
    settings: Settings, *, queues: Iterable[str] = QUEUES, namespace: str | None = None
) -> tuple[dict[str, int], str | None]:
    """Messages waiting per queue (ready + delayed), and a note when they are unknown.

    `namespace` is the Redis broker's key prefix.  Default: settings.redis_namespace.

    Redis broker: LLEN of ``{namespace}:{queue}`` plus ``{namespace}:{queue}.DQ``.
    RabbitMQ: the broker's ready + delayed message counts.
    """
    url = settings.broker_url or settings.redis_url
    if not url:
        return {}, "queue depths unknown: no BROKER_URL or REDIS_URL"
    if url.startswith(("amqp://", "amqps://")):
        return _rabbitmq_depths(settings, queues)
    import redis
    from redis.exceptions import RedisError

    namespace = namespace or settings.redis_namespace
    try:
        client = redis.Redis.from_url(url, socket_timeout=2.0, socket_connect_timeout=2.0)
        try:
            pipe = client.pipeline(transaction=False)
            names = list(queues)
            for key in _depth_keys(namespace, names):
                pipe.llen(key)
            counts = pipe.execute()
        finally:
            client.close()
    except (RedisError, OSError) as exc:
        return {}, f"queue depths unknown: Redis unreachable ({exc})"
    return {queue: counts[2 * i] + counts[2 * i + 1] for i, queue in enumerate(names)}, None


async def redis_queue_depths(client, *, namespace: str, queues: Iterable[str] = QUEUES) -> dict[str, int]:
    """Messages waiting per queue of a Redis broker, read with an open async client.

    For a long-lived process (the clock samples every tick): it reuses the process's
    connection pool instead of opening a connection per call as `queue_depths` does.
    """
    names = list(queues)
    pipe = client.pipeline(transaction=False)
    for key in _depth_keys(namespace, names):
        pipe.llen(key)
    counts = await pipe.execute()
    return {queue: int(counts[2 * i]) + int(counts[2 * i + 1]) for i, queue in enumerate(names)}


def _depth_keys(namespace: str, queues: list[str]) -> list[str]:
    """The Redis broker's lists of each queue: ready messages, then delayed (``.DQ``)."""
    return [key for queue in queues for key in (f"{namespace}:{queue}", f"{namespace}:{queue}.DQ")]


def _rabbitmq_depths(settings: Settings, queues: Iterable[str]) -> tuple[dict[str, int], str | None]:
    from dramatiq.brokers.rabbitmq import RabbitmqBroker

    from zenith.messaging.broker import build_broker

    try:
        broker = build_broker(settings)
        try:
            if not isinstance(broker, RabbitmqBroker):  # called for an amqp:// BROKER_URL only
                raise TypeError(f"{type(broker).__name__} is not RabbitMQ")
            depths = {queue: sum(broker.get_queue_message_counts(queue)[:2]) for queue in queues}
        finally:
            broker.close()
    except Exception as exc:  # pika raises many unrelated types for "cannot connect"
        return {}, f"queue depths unknown: RabbitMQ unreachable ({exc})"
    return depths, None


def failed_pools(snapshot: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    """Pools of `snapshot` that exhausted their restart budget and were stopped."""
    return [pool for pool in snapshot.get("pools", []) if pool.get("state") == FAILED]


def _duration(seconds: float | None) -> str:
    if seconds is None:
        return "-"
    seconds = int(seconds)
    if seconds < 60:
        return f"{seconds}s"
    if seconds < 3600:
        return f"{seconds // 60}m{seconds % 60:02d}s"
    return f"{seconds // 3600}h{seconds % 3600 // 60:02d}m"


def _since(started_at: float | None, now: float) -> float | None:
    return None if started_at is None else max(0.0, now - float(started_at))


def render(
    snapshots: list[dict[str, Any]], depths: Mapping[str, int], note: str | None, *, now: float | None = None
) -> str:
    """The human-readable table of `zenith status`."""
    current = time.time() if now is None else now
    lines: list[str] = []
    for snapshot in snapshots:
        sup = snapshot.get("supervisor", {})
        freshness = "" if is_fresh(snapshot, now=current) else "  (STALE or stopped)"
        age = current - float(snapshot.get("published_at") or 0.0)
        lines.append(
            f"supervisor pid {sup.get('pid')} on {sup.get('host')}: {sup.get('state')}, up {_duration(_since(sup.get('started_at'), current))}, "
            f"each pool may restart {sup.get('max_restarts')} times in {sup.get('restart_window')}s, "
            f"published {age:.0f}s ago{freshness}"
        )
        rows = [("POOL", "PROCS", "PIDS", "UPTIME", "RESTARTS", "LAST EXIT", "STATE")]
        for pool in snapshot.get("pools", []):
            slots = pool.get("slots", [])
            pids = ",".join(str(s["pid"]) for s in slots if s.get("pid")) or "-"
            uptimes = [_since(s.get("started_at"), current) for s in slots if s.get("state") == "running"]
            exits = [s["last_exit"] for s in slots if s.get("last_exit")]
            last = max(exits, key=lambda e: e.get("at") or 0)["reason"] if exits else "-"
            states = ",".join(sorted({s.get("state", "?") for s in slots}))
            if pool.get("state") == FAILED:
                states = "FAILED"
            running = sum(1 for s in slots if s.get("state") == "running")
            restarts = (
                f"{pool.get('restarts', 0)} ({pool.get('recent_restarts', 0)}/{pool.get('max_restarts', '?')} recent)"
            )
            rows.append(
                (
                    pool["name"],
                    f"{running}/{pool.get('processes')}",
                    pids,
                    _duration(min((u for u in uptimes if u is not None), default=None)),
                    restarts,
                    last,
                    states,
                )
            )
        widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
        lines.extend(
            "  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip() for row in rows
        )
        for pool in failed_pools(snapshot):
            lines.append(
                f"pool {pool['name']} FAILED: {pool.get('failed_reason')}; stopped until the supervisor is restarted"
            )
        lines.append("")
    if not snapshots:
        lines.append("no supervisor status found")
    if depths:
        lines.append("QUEUE          DEPTH")
        lines.extend(f"{queue:<14} {depth}" for queue, depth in depths.items())
    if note:
        lines.append(note)
    return "\n".join(lines)


def collect(settings: Settings) -> list[dict[str, Any]]:
    """The local snapshot and the Redis ones, one per supervisor (host + pid)."""
    found: dict[tuple[Any, Any], dict[str, Any]] = {}
    local = read_local_snapshot(settings)
    candidates = ([local] if local else []) + (
        read_redis_snapshots(settings.redis_url, prefix=status_key_prefix(settings.redis_namespace))
        if settings.redis_url
        else []
    )
    for snapshot in candidates:
        sup = snapshot.get("supervisor", {})
        key = (sup.get("host"), sup.get("pid"))
        if key not in found or float(snapshot.get("published_at") or 0) > float(found[key].get("published_at") or 0):
            found[key] = snapshot
    return list(found.values())


def exit_code(snapshots: list[dict[str, Any]], *, now: float | None = None) -> int:
    """0: a supervisor is live and none of the live ones has a failed pool; 2: a live
    supervisor has a failed pool (an operator must act); 1: no live supervisor."""
    live = [s for s in snapshots if is_fresh(s, now=now)]
    if not live:
        return EXIT_NOT_RUNNING
    return EXIT_POOL_FAILED if any(failed_pools(s) for s in live) else 0


def run_status(args: argparse.Namespace) -> int:
    """`zenith status [--json]`: exit 0 when a supervisor is live and healthy, 2 when a
    live one has a failed pool, 1 when none is live."""
    settings = get_settings()
    snapshots = collect(settings)
    depths, note = queue_depths(settings)
    if getattr(args, "json", False):
        print(json.dumps({"supervisors": snapshots, "queues": depths, "note": note}, indent=1, sort_keys=True))
    else:
        print(render(snapshots, depths, note))
    return exit_code(snapshots)
