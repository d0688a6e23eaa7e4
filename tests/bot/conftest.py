"""Bot fixtures: the Bot API sandbox, a polling bot on it, the broker's queued messages.

The bot runs for real (aiogram dispatcher, long polling over HTTP to the in-process
sandbox), on the session's migrated PostgreSQL database and a Redis namespace of the
test's own; messages go to a real Redis broker in that namespace, where tests read them.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import random
import uuid
from dataclasses import dataclass
from datetime import datetime, timezone
from decimal import Decimal
from typing import Any

import pytest
from redis.asyncio import Redis

from tests.fakes.cryptopay import run_fake_cryptopay
from tests.fakes.tiktok import run_fake_tiktok
from tests.fakes.youtube import run_fake_youtube
from zenith.bot.runtime import BotRuntime, open_bot_runtime
from zenith.messaging.broker import build_broker
from zenith.sandbox.runner import start_sandbox

ADMIN_ID = 990_000_001
_ids = itertools.count(random.randrange(10**9, 2 * 10**9, 10**6))


def new_telegram_id() -> int:
    """A Telegram user id no other test of the session uses (the database is shared)."""
    return next(_ids)


async def until_row_dropped(runtime: BotRuntime, telegram_id: int, *, timeout: float = 10.0) -> None:
    """Wait for the bot to drop its kept users row of ``telegram_id`` after a change made
    outside it (raw SQL, another process): PostgreSQL announces it on commit, milliseconds later."""
    rows = runtime.services.user_rows
    deadline = asyncio.get_running_loop().time() + timeout
    while rows is not None and rows.get(telegram_id) is not None:
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"the bot still keeps the users row of {telegram_id} after {timeout} s")
        await asyncio.sleep(0.01)


@pytest.fixture
async def sandbox():
    async with start_sandbox() as handle:
        yield handle


@pytest.fixture
def bot_env(database_url, redis_url, namespace, sandbox) -> dict[str, str]:
    return {
        "DATABASE_URL": database_url,
        "REDIS_URL": redis_url,
        "REDIS_NAMESPACE": namespace,
        "TELEGRAM_BOT_TOKEN": sandbox.token,
        "TELEGRAM_API_URL": sandbox.url,
        "ADMIN_IDS": str(ADMIN_ID),
        "PAYOUT_MIN_RUB": "500",
        "PAYOUT_ASSETS": "USDT,TON",
        "GOLD_AUTO_PAYOUT_LIMIT_RUB": "5000",
        "RATE_MAX_AGE_SECONDS": "900",
        "DATA_DIR": "/tmp/zenith-bot-tests",
        # payouts are configured (the bot never calls Crypto Pay; without a token it refuses withdrawals)
        "CRYPTO_PAY_TOKEN": "bot-tests-cryptopay-token",
    }


@pytest.fixture
def bot_settings(make_settings, bot_env):
    return make_settings(**bot_env)


@pytest.fixture
async def redis(redis_url, namespace):
    """An async Redis client; every key of this test's namespace is deleted afterwards."""
    client = Redis.from_url(redis_url)
    yield client
    keys = [key async for key in client.scan_iter(match=f"{namespace}*", count=500)]
    if keys:
        await client.delete(*keys)
    await client.aclose()


@pytest.fixture
def broker(bot_settings, redis_url, namespace, redis):
    broker = build_broker(bot_settings, redis_url=redis_url, namespace=namespace)
    yield broker
    broker.close()


async def start_polling(runtime: BotRuntime) -> asyncio.Task:
    task = asyncio.create_task(
        runtime.dispatcher.start_polling(runtime.bot, handle_signals=False, close_bot_session=False, polling_timeout=1)
    )
    return task


async def stop_polling(runtime: BotRuntime, task: asyncio.Task) -> None:
    try:
        await runtime.dispatcher.stop_polling()
    except RuntimeError:  # polling had not started yet
        task.cancel()
    try:
        await asyncio.wait_for(task, timeout=10)
    except (asyncio.CancelledError, asyncio.TimeoutError):
        pass


@pytest.fixture
async def make_bot(bot_settings, broker):
    """Start a polling bot: ``runtime = await make_bot(throttle_limit=..., settings=...)``."""
    running: list[tuple[Any, BotRuntime, asyncio.Task]] = []

    async def start(*, settings=None, throttle_limit: int = 50, throttle_window_seconds: int = 5) -> BotRuntime:
        context = open_bot_runtime(
            settings or bot_settings,
            broker=broker,
            throttle_limit=throttle_limit,
            throttle_window_seconds=throttle_window_seconds,
        )
        runtime = await context.__aenter__()
        task = await start_polling(runtime)
        running.append((context, runtime, task))
        return runtime

    yield start
    for context, runtime, task in running:
        await stop_polling(runtime, task)
        await runtime.bot.session.close()
        await context.__aexit__(None, None, None)


@pytest.fixture
async def bot(make_bot) -> BotRuntime:
    return await make_bot()


@pytest.fixture
def fakes():
    """Local YouTube, TikTok and Crypto Pay servers: (youtube, tiktok, cryptopay)."""
    with run_fake_youtube() as youtube, run_fake_tiktok() as tiktok, run_fake_cryptopay() as cryptopay:
        # transfer ids unique across the session: the payouts table is shared
        cryptopay.state.next_transfer_id = uuid.uuid4().int % 10**12
        yield youtube, tiktok, cryptopay


@pytest.fixture
def e2e_env(bot_env, fakes) -> dict[str, str]:
    """`bot_env` plus the fakes' URLs and keys, for the bot and the actors alike."""
    youtube, tiktok, cryptopay = fakes
    return {
        **bot_env,
        "YOUTUBE_API_KEY": youtube.state.api_key,
        "YOUTUBE_API_URL": youtube.url + "/youtube/v3",
        "TIKTOK_BASE_URL": tiktok.url,
        "CRYPTO_PAY_TOKEN": cryptopay.state.token,
        "CRYPTO_PAY_URL": cryptopay.url + "/api",
        "ALLOW_PRIVATE_NETWORK": "true",
        "MIN_VIEWS": "1000",
    }


@pytest.fixture
def e2e_settings(make_settings, e2e_env):
    return make_settings(**e2e_env)


@pytest.fixture
async def worker(e2e_settings, broker):
    """An in-process Dramatiq worker running every actor module on this test's namespace."""
    from zenith.actors.registry import ACTOR_MODULES
    from zenith.actors.worker import build_worker

    settings = e2e_settings
    dramatiq_worker = build_worker(
        settings,
        threads=4,
        worker_timeout_ms=100,
        database_url=settings.database_url,
        redis_url=settings.redis_url,
        modules=ACTOR_MODULES,
    )
    await asyncio.to_thread(dramatiq_worker.start)
    try:
        yield dramatiq_worker
    finally:
        await asyncio.to_thread(dramatiq_worker.stop, 10_000)
        dramatiq_worker.broker.close()


@pytest.fixture
async def e2e_bot(make_bot, e2e_settings, worker) -> BotRuntime:
    """A polling bot with the fakes' settings, its messages handled by `worker`."""
    return await make_bot(settings=e2e_settings)


async def drain(worker, *queues: str, timeout: float = 20.0) -> None:
    """Wait until the worker has processed everything in `queues` (in order)."""
    for queue in queues:
        await asyncio.to_thread(worker.broker.join, queue, timeout=int(timeout * 1000))


@dataclass
class QueuedMessage:
    queue: str
    actor_name: str
    args: list[Any]
    kwargs: dict[str, Any]
    options: dict[str, Any]


async def queued(redis: Redis, namespace: str, queue: str) -> list[QueuedMessage]:
    """Messages waiting in a Redis-broker queue (ready and delayed), oldest first."""
    found: list[QueuedMessage] = []
    for name in (queue, f"{queue}.DQ"):
        raw = await redis.hvals(f"{namespace}:{name}.msgs")
        for value in raw:
            data = json.loads(value)
            found.append(
                QueuedMessage(queue, data["actor_name"], data["args"], data.get("kwargs", {}), data.get("options", {}))
            )
    found.sort(key=lambda m: m.options.get("redis_message_id", ""))
    return found


def private_text_update(update_id: int, user_id: int, text: str) -> dict:
    """A raw Telegram Update: a text message in the user's private chat (webhook bodies)."""
    return {
        "update_id": update_id,
        "message": {
            "message_id": 1,
            "date": 1_700_000_000,
            "chat": {"id": user_id, "type": "private"},
            "from": {"id": user_id, "is_bot": False, "first_name": "Web", "language_code": "en"},
            "text": text,
        },
    }


async def wait_until(predicate, *, timeout: float = 10.0, interval: float = 0.05):
    """Poll an async predicate until it returns something truthy; fail after `timeout`."""
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        result = await predicate()
        if result:
            return result
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"condition not met within {timeout}s")
        await asyncio.sleep(interval)


async def store_rate(pool, *, asset: str, rate: str, fetched_at: datetime | None = None) -> None:
    from zenith.storage import rates

    async with pool.connection() as conn:
        await rates.store(conn, source=asset, rate=Decimal(rate), fetched_at=fetched_at or datetime.now(timezone.utc))
