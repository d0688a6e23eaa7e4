"""GET /healthz: the process can reach PostgreSQL and Redis; GET /readyz: and the broker too."""

from __future__ import annotations

import asyncio
import logging

import dramatiq
from aiohttp import web
from psycopg_pool import AsyncConnectionPool
from redis.asyncio import Redis

from zenith.storage.db import ping

logger = logging.getLogger(__name__)

POOL_KEY = web.AppKey("pool", AsyncConnectionPool)
REDIS_KEY = web.AppKey("redis", Redis)
BROKER_KEY = web.AppKey("broker", dramatiq.Broker)
CHECK_TIMEOUT_SECONDS = 2.0


async def _database_ok(pool: AsyncConnectionPool) -> bool:
    async with asyncio.timeout(CHECK_TIMEOUT_SECONDS):
        await ping(pool)
    return True


async def _redis_ok(redis: Redis) -> bool:
    async with asyncio.timeout(CHECK_TIMEOUT_SECONDS):
        return bool(await redis.ping())


def _ping_broker(broker: dramatiq.Broker) -> bool:
    """Ask the broker's own server: Redis answers PING; RabbitMQ accepts a connection of ours."""
    client = getattr(broker, "client", None)
    if client is not None:  # RedisBroker
        return bool(client.ping())
    import pika
    from dramatiq.brokers.rabbitmq import RabbitmqBroker

    if not isinstance(broker, RabbitmqBroker):
        raise TypeError(f"cannot ping a {type(broker).__name__}")
    parameters = broker.parameters if not isinstance(broker.parameters, list) else broker.parameters[0]
    connection = pika.BlockingConnection(parameters)
    try:
        return connection.is_open
    finally:
        connection.close()


async def _broker_ok(broker: dramatiq.Broker) -> bool:
    async with asyncio.timeout(CHECK_TIMEOUT_SECONDS):
        return await asyncio.to_thread(_ping_broker, broker)


async def healthz(request: web.Request) -> web.Response:
    """200 with ``{"status": "ok", ...}`` when both answer within 2 s, else 503 naming what failed."""
    checks = {"database": _database_ok(request.app[POOL_KEY]), "redis": _redis_ok(request.app[REDIS_KEY])}
    return await _answer(checks)


async def readyz(request: web.Request) -> web.Response:
    """Ready to take work: 200 only when PostgreSQL, Redis and the broker answer within 2 s each."""
    checks = {
        "database": _database_ok(request.app[POOL_KEY]),
        "redis": _redis_ok(request.app[REDIS_KEY]),
        "broker": _broker_ok(request.app[BROKER_KEY]),
    }
    return await _answer(checks)


async def _answer(checks: dict) -> web.Response:
    results: dict[str, str] = {}
    for name, check in checks.items():
        try:
            results[name] = "ok" if await check else "down"
        except Exception as exc:  # any failure means unhealthy; say which kind
            logger.warning("health check %s failed: %r", name, exc)
            results[name] = "down"
    healthy = all(value == "ok" for value in results.values())
    return web.json_response({"status": "ok" if healthy else "unavailable", **results}, status=200 if healthy else 503)
