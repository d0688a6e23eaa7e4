"""A worker process holding one slow message, for the broker's requeue test.

Run as ``python -m tests.actors.slow_worker REDIS_URL NAMESPACE HOLD_SECONDS``. It uses
the project's tuned Redis broker (`zenith.messaging.broker.build_broker`) with one
test actor, ``hold``, that records its start and end in a Redis list and sleeps
HOLD_SECONDS in between.
"""

from __future__ import annotations

import os
import signal
import sys
import threading
import time

import dramatiq
import redis

from zenith.config import load_settings
from zenith.messaging.broker import build_broker

QUEUE = "slowtest"


def main(redis_url: str, namespace: str, hold_seconds: float) -> int:
    broker = build_broker(load_settings({}), redis_url=redis_url, namespace=namespace)
    events = redis.Redis.from_url(redis_url)

    def hold(token: str) -> None:
        events.rpush(f"{namespace}:events", f"start:{os.getpid()}:{token}")
        time.sleep(hold_seconds)
        events.rpush(f"{namespace}:events", f"done:{os.getpid()}:{token}")

    dramatiq.actor(hold, broker=broker, actor_name="hold", queue_name=QUEUE, max_retries=0)
    worker = dramatiq.Worker(broker, queues={QUEUE}, worker_threads=1, worker_timeout=200)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    worker.start()
    events.rpush(f"{namespace}:events", f"ready:{os.getpid()}")
    stop.wait()
    worker.stop(timeout=1000)
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1], sys.argv[2], float(sys.argv[3])))
