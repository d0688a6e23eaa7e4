"""/readyz answers 200 only when PostgreSQL, Redis and the broker all answer."""

from __future__ import annotations

from redis.asyncio import Redis

from tests.conftest import TEST_RABBITMQ_URL
from zenith.messaging.broker import build_broker


async def _readyz(api) -> tuple[int, dict]:
    async with api.client.get(api.base + "/readyz") as response:
        return response.status, await response.json()


async def test_ready_with_everything_up(api):
    assert await _readyz(api) == (200, {"status": "ok", "database": "ok", "redis": "ok", "broker": "ok"})


async def test_not_ready_when_the_broker_does_not_answer(serve_api, api_settings):
    broker = build_broker(api_settings, redis_url="redis://127.0.0.1:1/0", namespace=api_settings.redis_namespace)
    api = await serve_api(api_settings, broker=broker)
    assert await _readyz(api) == (503, {"status": "unavailable", "database": "ok", "redis": "ok", "broker": "down"})
    async with api.client.get(api.base + "/healthz") as response:
        assert response.status == 200  # alive, only not ready


async def test_not_ready_when_redis_does_not_answer(serve_api, api_settings):
    dead = Redis.from_url("redis://127.0.0.1:1/0", socket_connect_timeout=0.5, socket_timeout=0.5)
    api = await serve_api(api_settings, redis=dead)
    status, body = await _readyz(api)
    assert (status, body["redis"], body["broker"]) == (503, "down", "ok")


async def test_rabbitmq_broker_is_checked_by_connecting(serve_api, make_settings, api_settings):
    settings = make_settings(
        **{
            "BROKER_URL": TEST_RABBITMQ_URL,
            "DATABASE_URL": api_settings.database_url,
            "REDIS_URL": api_settings.redis_url,
        }
    )
    api = await serve_api(settings, broker=build_broker(settings))
    assert (await _readyz(api))[1]["broker"] == "ok"
    wrong = make_settings(
        **{"BROKER_URL": "amqp://guest:guest@127.0.0.1:1/", "DATABASE_URL": api_settings.database_url}
    )
    api = await serve_api(wrong, broker=build_broker(wrong))
    assert await _readyz(api) == (503, {"status": "unavailable", "database": "ok", "redis": "ok", "broker": "down"})
