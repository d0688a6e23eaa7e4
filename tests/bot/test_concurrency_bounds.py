"""Bursts queue instead of failing: Redis commands wait for a pooled connection, and the
polling bot and the webhook handle at most BOT_MAX_CONCURRENT_UPDATES updates at once."""

from __future__ import annotations

import asyncio
import contextlib

import aiohttp
import pytest
from aiohttp.test_utils import TestServer
from redis.asyncio import BlockingConnectionPool

import zenith.bot.runtime as bot_runtime
from tests.bot.conftest import new_telegram_id, private_text_update, wait_until
from zenith.bot.main import poll
from zenith.bot.runtime import max_concurrent_updates, open_bot_runtime
from zenith.web.app import build_web_app

SECRET = "bound-secret-for-tests"


class UpdateGate:
    """An outer update middleware that holds every update until ``open()`` and counts them."""

    def __init__(self) -> None:
        self.gate = asyncio.Event()
        self.in_flight = 0
        self.most_at_once = 0
        self.seen: list[int] = []

    async def __call__(self, handler, update, data):
        self.seen.append(update.update_id)
        self.in_flight += 1
        self.most_at_once = max(self.most_at_once, self.in_flight)
        try:
            await self.gate.wait()
            return await handler(update, data)
        finally:
            self.in_flight -= 1

    def open(self) -> None:
        self.gate.set()


def test_concurrency_defaults_to_ten_updates_per_db_connection(make_settings):
    assert max_concurrent_updates(make_settings(DATABASE_POOL_MAX="10")) == 100
    assert max_concurrent_updates(make_settings(DATABASE_POOL_MAX="10", BOT_MAX_CONCURRENT_UPDATES="7")) == 7


async def test_redis_command_waits_for_a_free_connection(make_settings, bot_env, broker, redis, namespace):
    settings = make_settings(**bot_env, REDIS_MAX_CONNECTIONS="2")
    async with open_bot_runtime(settings, broker=broker) as runtime:
        client = runtime.services.redis
        assert isinstance(client.connection_pool, BlockingConnectionPool)
        assert client.connection_pool.max_connections == 2
        # two blocking pops hold both connections ...
        holders = [asyncio.create_task(client.blpop([f"{namespace}:hold:{i}"], timeout=10)) for i in range(2)]
        await asyncio.sleep(0.3)
        # ... so a third command waits for one (the default pool raises MaxConnectionsError)
        waiting = asyncio.create_task(client.set(f"{namespace}:third", "1"))
        await asyncio.sleep(0.3)
        assert not waiting.done()
        await redis.rpush(f"{namespace}:hold:0", "go")
        assert await asyncio.wait_for(waiting, timeout=5) is True
        await redis.rpush(f"{namespace}:hold:1", "go")
        await asyncio.wait_for(asyncio.gather(*holders), timeout=5)


async def test_polling_handles_at_most_the_limit_at_once(make_settings, bot_env, sandbox, monkeypatch):
    settings = make_settings(**bot_env, BOT_MAX_CONCURRENT_UPDATES="3")
    gate = UpdateGate()
    dispatchers = []
    build = bot_runtime.build_dispatcher

    def gated_dispatcher(**kwargs):
        dispatcher = build(**kwargs)
        dispatcher.update.outer_middleware(gate)
        dispatchers.append(dispatcher)
        return dispatcher

    monkeypatch.setattr(bot_runtime, "build_dispatcher", gated_dispatcher)
    users = [new_telegram_id() for _ in range(10)]
    for uid in users:
        sandbox.state.user_sends_text(uid, "/help", language_code="en")
    polling = asyncio.create_task(poll(settings))
    try:
        await wait_until(lambda: _true(gate.in_flight >= 3), timeout=20)
        await asyncio.sleep(0.5)  # the other 7 were fetched by the same getUpdates, and wait
        assert gate.most_at_once == 3
        assert len(gate.seen) == 3
        gate.open()
        for uid in users:
            await sandbox.state.wait_for_message(uid, contains="Help")
        assert gate.most_at_once == 3
        assert len(gate.seen) == 10
    finally:
        gate.open()
        try:
            await dispatchers[0].stop_polling()
        except (IndexError, RuntimeError):  # polling never started
            polling.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await asyncio.wait_for(polling, timeout=20)


async def _true(value: bool) -> bool:
    return value


@pytest.fixture
async def gated_web(make_settings, bot_env, broker, sandbox):
    """The web app with a webhook handling at most 2 updates at once, updates held by a gate."""
    settings = make_settings(
        **{
            **bot_env,
            "WEBHOOK_URL": "https://bot.example.com/telegram/webhook",
            "WEBHOOK_SECRET": SECRET,
            "BOT_MAX_CONCURRENT_UPDATES": "2",
        }
    )
    gate = UpdateGate()
    async with open_bot_runtime(settings, broker=broker) as runtime:
        runtime.dispatcher.update.outer_middleware(gate)
        app = build_web_app(runtime=runtime, with_webhook=True)
        server = TestServer(app)
        await server.start_server()
        try:
            async with aiohttp.ClientSession(base_url=str(server.make_url(""))) as client:
                yield client, gate
        finally:
            gate.open()
            await server.close()


async def test_saturated_webhook_answers_503_and_the_update_comes_back(gated_web, sandbox):
    client, gate = gated_web
    headers = {"X-Telegram-Bot-Api-Secret-Token": SECRET}
    users = [new_telegram_id() for _ in range(3)]
    for uid in users:
        sandbox.state.add_user(uid, first_name="Web", language_code="en")
    ids = [new_telegram_id() for _ in range(3)]
    for update_id, uid in zip(ids[:2], users[:2], strict=True):
        async with client.post(
            "/telegram/webhook", json=private_text_update(update_id, uid, "/help"), headers=headers
        ) as response:
            assert response.status == 200
    await wait_until(lambda: _true(gate.in_flight == 2))
    # both slots taken: the third waits its second for one, then is turned away unhandled
    async with client.post(
        "/telegram/webhook", json=private_text_update(ids[2], users[2], "/help"), headers=headers
    ) as response:
        assert response.status == 503
        assert response.headers["Retry-After"] == "1"
    assert sorted(gate.seen) == sorted(ids[:2])  # handled concurrently: either may reach the gate first
    gate.open()
    for uid in users[:2]:
        await sandbox.state.wait_for_message(uid, contains="Help")
    # Telegram delivers the refused update again: now it is handled (not taken for a duplicate)
    async with client.post(
        "/telegram/webhook", json=private_text_update(ids[2], users[2], "/help"), headers=headers
    ) as response:
        assert response.status == 200
    await sandbox.state.wait_for_message(users[2], contains="Help")
    assert gate.most_at_once == 2
