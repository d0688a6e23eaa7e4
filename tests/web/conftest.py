"""HTTP API fixtures: the web process's service app on a real port, on the session's
database, a Redis namespace and broker of the test's own, and keys of each scope."""

from __future__ import annotations

from dataclasses import dataclass

import aiohttp
import pytest
from aiohttp import web
from redis.asyncio import Redis

from tests.actors.conftest import (  # noqa: F401  (fixtures)
    actor_env,
    cleanup_namespace,
    eventually,
    fake_cryptopay,
    fake_tiktok,
    fake_youtube,
    make_user,
    make_verified_account,
    running_worker,
    sandbox,
)
from zenith.domain.api_keys import Scope
from zenith.messaging.broker import build_broker
from zenith.storage import api_keys
from zenith.web.app import build_service_app


@dataclass
class Api:
    """A running service app: ``base`` URL, an HTTP ``client`` on it, ``key(scope)`` makes keys."""

    base: str
    client: aiohttp.ClientSession
    pool: object

    async def key(self, scope: Scope | str = Scope.ADMIN, *, rate_limit: int = 10_000, name: str = "test key") -> str:
        async with self.pool.connection() as conn:
            _, plaintext = await api_keys.create(conn, name=name, scope=scope, rate_limit_per_minute=rate_limit)
        return plaintext

    async def revoke(self, plaintext: str) -> None:
        async with self.pool.connection() as conn:
            await api_keys.revoke(conn, key_id=plaintext.split("_")[1])


@pytest.fixture
def api_settings(make_settings, database_url, redis_url, cleanup_namespace):
    return make_settings(
        DATABASE_URL=database_url, REDIS_URL=redis_url, REDIS_NAMESPACE=cleanup_namespace, DEFAULT_LANGUAGE="en"
    )


@pytest.fixture
async def serve_api(pool, redis_url):
    """``api = await serve_api(settings, broker=..., redis=...)``: the service app on 127.0.0.1 and a free port."""
    started: list = []

    async def start(settings, *, broker=None, redis: Redis | None = None) -> Api:
        redis = redis or Redis.from_url(redis_url, socket_timeout=5)
        broker = broker or build_broker(settings, redis_url=redis_url, namespace=settings.redis_namespace)
        runner = web.AppRunner(build_service_app(settings=settings, pool=pool, redis=redis, broker=broker))
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        port = site._server.sockets[0].getsockname()[1]
        client = aiohttp.ClientSession()
        started.append((runner, client, redis))
        return Api(base=f"http://127.0.0.1:{port}", client=client, pool=pool)

    yield start
    for runner, client, redis in started:
        await client.close()
        await runner.cleanup()
        await redis.aclose()


@pytest.fixture
async def api(serve_api, api_settings) -> Api:
    return await serve_api(api_settings)
