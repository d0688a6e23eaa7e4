"""A real worker process for tests: traces to OTLP/HTTP, processes one message, flushes, exits.

Run as ``python tests/telemetry/otlp_worker.py`` with REDIS_URL, TEST_NAMESPACE, TEST_QUEUE
and OTEL_EXPORTER_OTLP_ENDPOINT in the environment. Exits 0 once the message is processed,
3 when it did not arrive within TEST_TIMEOUT_SECONDS (default 30).
"""

from __future__ import annotations

import os
import sys
import threading

import dramatiq
from dramatiq.brokers.redis import RedisBroker
from dramatiq.middleware import AsyncIO
from opentelemetry import trace

from zenith.config import load_settings
from zenith.telemetry.attributes import video_attributes
from zenith.telemetry.dramatiq_middleware import install_telemetry_middleware
from zenith.telemetry.tracing import setup_tracing, shutdown_tracing


def main() -> int:
    settings = load_settings(os.environ)
    setup_tracing(settings, role="zenith-worker-test")
    broker = RedisBroker(url=os.environ["REDIS_URL"], namespace=os.environ["TEST_NAMESPACE"])
    broker.add_middleware(AsyncIO())
    install_telemetry_middleware(broker, metrics=False)
    done = threading.Event()

    async def traced_job(video_id: int) -> None:
        trace.get_current_span().set_attributes(video_attributes(video_id, "youtube"))
        done.set()

    dramatiq.actor(traced_job, broker=broker, queue_name=os.environ["TEST_QUEUE"], actor_name="traced_job")
    worker = dramatiq.Worker(broker, worker_threads=1, worker_timeout=100)
    worker.start()
    try:
        arrived = done.wait(float(os.environ.get("TEST_TIMEOUT_SECONDS", "30")))
    finally:
        worker.stop()  # waits for the in-flight message, so its span has ended
        broker.close()
        shutdown_tracing()  # flushes the batch processor to the receiver
    return 0 if arrived else 3


if __name__ == "__main__":
    sys.exit(main())
