"""Broker set-up: Redis from REDIS_URL, or RabbitMQ when BROKER_URL is amqp://."""

from __future__ import annotations

import dramatiq
from dramatiq.middleware import AsyncIO

from zenith.config import Settings
from zenith.messaging.contract import QUEUES
from zenith.messaging.message_encoding import use_fast_json

# A message held by a killed worker must come back within about a minute. Dramatiq's
# Redis broker requeues a dead worker's messages during "maintenance", which runs on a
# fetch with probability maintenance_chance / 1_000_000 and only for workers silent for
# heartbeat_timeout ms; the defaults (1,000 and 60 s) can take many minutes at low traffic.
REDIS_HEARTBEAT_TIMEOUT_MS = 30_000
REDIS_MAINTENANCE_CHANCE = 100_000  # 1 fetch in 10


def build_broker(settings: Settings, *, redis_url: str | None = None, namespace: str = "zenith") -> dramatiq.Broker:
    """A broker with every queue declared, the AsyncIO middleware for async actors, and
    messages in JSON written and read by orjson (``zenith.messaging.message_encoding``)."""
    url = settings.broker_url or redis_url or settings.redis_url
    if not url:
        raise ValueError("no broker: set BROKER_URL or REDIS_URL (or start through `zenith up` for embedded defaults)")
    if url.startswith(("amqp://", "amqps://")):
        from dramatiq.brokers.rabbitmq import RabbitmqBroker

        broker: dramatiq.Broker = RabbitmqBroker(url=url)
    else:
        from dramatiq.brokers.redis import RedisBroker

        broker = RedisBroker(
            url=url,
            namespace=namespace,
            heartbeat_timeout=REDIS_HEARTBEAT_TIMEOUT_MS,
            maintenance_chance=REDIS_MAINTENANCE_CHANCE,
        )
    use_fast_json()
    broker.add_middleware(AsyncIO())
    for queue in QUEUES:
        broker.declare_queue(queue)
    return broker


def setup_broker(settings: Settings, **kwargs) -> dramatiq.Broker:
    """Build the broker and make it the process-wide one."""
    broker = build_broker(settings, **kwargs)
    dramatiq.set_broker(broker)
    return broker
