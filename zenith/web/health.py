"""GET /healthz: the process can reach PostgreSQL and Redis."""

from __future__ import annotations

import asyncio
import logging

from aiohttp import web
from psycopg_pool import AsyncConnectionPool
from redis.asyncio import Redis

from zenith.storage.db import ping

logger = logging.getLogger(__name__)

POOL_KEY = web.AppKey("pool", AsyncConnectionPool)
REDIS_KEY = web.AppKey("redis", Redis)
CHECK_TIMEOUT_SECONDS = 2.0


async def _database_ok(pool: AsyncConnectionPool) -> bool:
    async with asyncio.timeout(CHECK_TIMEOUT_SECONDS):
        await ping(pool)
    return True


async def _redis_ok(redis: Redis) -> bool:
    async with asyncio.timeout(CHECK_TIMEOUT_SECONDS):
        return bool(await redis.ping())


async def healthz(request: web.Request) -> web.Response:
    """200 with ``{"status": "ok", ...}`` when both answer within 2 s, else 503 naming what failed."""
    checks = {"database": _database_ok(request.app[POOL_KEY]), "redis": _redis_ok(request.app[REDIS_KEY])}
    results: dict[str, str] = {}
    for name, check in checks.items():
        try:
            results[name] = "ok" if await check else "down"
        except Exception as exc:  # any failure means unhealthy; say which kind
            logger.warning("health check %s failed: %r", name, exc)
            results[name] = "down"
    healthy = all(value == "ok" for value in results.values())
    return web.json_response({"status": "ok" if healthy else "unavailable", **results}, status=200 if healthy else 503)
