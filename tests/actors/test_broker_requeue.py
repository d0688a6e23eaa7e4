"""A message held by a SIGKILLed worker comes back within about a minute."""

from __future__ import annotations

import signal
import time

import dramatiq
import redis

from tests.actors.slow_worker import QUEUE
from zenith.config import load_settings
from zenith.messaging.broker import REDIS_HEARTBEAT_TIMEOUT_MS, build_broker


def _wait_for(events: redis.Redis, key: str, prefix: str, *, timeout: float, skip: int = 0) -> str:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for raw in events.lrange(key, skip, -1):
            item = raw.decode()
            if item.startswith(prefix):
                return item
        time.sleep(0.2)
    raise AssertionError(f"no {prefix!r} event within {timeout}s: {events.lrange(key, 0, -1)}")


def test_message_of_killed_worker_is_redelivered_within_a_minute(spawn, redis_url, namespace):
    events = redis.Redis.from_url(redis_url)
    key = f"{namespace}:events"
    sender = build_broker(load_settings({}), redis_url=redis_url, namespace=namespace)
    sender.declare_queue(QUEUE)
    try:
        holder = spawn(["-m", "tests.actors.slow_worker", redis_url, namespace, "600"])
        _wait_for(events, key, f"ready:{holder.pid}", timeout=30)
        sender.enqueue(dramatiq.Message(queue_name=QUEUE, actor_name="hold", args=("m1",), kwargs={}, options={}))
        _wait_for(events, key, f"start:{holder.pid}:m1", timeout=30)

        holder.send_signal(signal.SIGKILL)
        holder.wait(timeout=10)
        killed_at = time.monotonic()
        rescuer = spawn(["-m", "tests.actors.slow_worker", redis_url, namespace, "0"])

        done = _wait_for(events, key, f"done:{rescuer.pid}:m1", timeout=90)
        elapsed = time.monotonic() - killed_at
        print(
            f"\nmessage of the killed worker redelivered and done {elapsed:.1f}s after SIGKILL "
            f"(heartbeat timeout {REDIS_HEARTBEAT_TIMEOUT_MS / 1000:.0f}s)"
        )
        assert done == f"done:{rescuer.pid}:m1"
        assert REDIS_HEARTBEAT_TIMEOUT_MS / 1000 <= elapsed < 75
        rescuer.send_signal(signal.SIGTERM)
        assert rescuer.wait(timeout=15) == 0
    finally:
        sender.close()
        for suffix in ("events",):
            events.delete(f"{namespace}:{suffix}")
        _delete_namespace(events, namespace)


def _delete_namespace(client: redis.Redis, namespace: str) -> None:
    """Remove the keys this test created (all under its own namespace)."""
    for name in client.scan_iter(match=f"{namespace}:*", count=500):
        client.delete(name)
