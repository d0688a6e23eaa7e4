"""Everything the bot needs while it runs, opened together and closed together."""

from __future__ import annotations

import logging
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import AsyncIterator

import dramatiq
from aiogram import Bot, Dispatcher

from zenith.bot.dispatcher import build_dispatcher, prepare_bot
from zenith.bot.services import BotServices
from zenith.bot.user_rows import UserRows
from zenith.config import Settings
from zenith.messaging.broker import build_broker
from zenith.platforms.telegram import build_bot
from zenith.storage.db import open_pool
from zenith.storage.embedded import resolve_database_url, resolve_redis_url
from zenith.storage.redis_pool import blocking_redis
from zenith.telemetry.dramatiq_middleware import install_telemetry_middleware

logger = logging.getLogger(__name__)

REDIS_TIMEOUT_SECONDS = 5.0
# BOT_MAX_CONCURRENT_UPDATES = 0: this many updates per pooled database connection. The
# reads of one burst of updates share one connection (SenderReads, CreatorReads), so a
# handler holds one of its own only to write, for a few ms: 100 updates on 10 connections
# wait ~0.1 s at worst, far inside the deadline. Fewer leave the process idle while whole
# bursts wait on the same round trip (docs/benchmarks.md, "Eighth round").
UPDATES_PER_DB_CONNECTION = 10


def max_concurrent_updates(settings: Settings) -> int:
    """Updates one bot/web process handles at once: BOT_MAX_CONCURRENT_UPDATES, else 3 x DATABASE_POOL_MAX."""
    return settings.bot_max_concurrent_updates or UPDATES_PER_DB_CONNECTION * settings.database_pool_max


@dataclass
class BotRuntime:
    """The open runtime; ``max_concurrent_updates`` bounds the updates handled at once
    (polling: ``tasks_concurrency_limit``; webhook: ``WebhookHandler(max_in_flight=...)``)."""

    bot: Bot
    dispatcher: Dispatcher
    services: BotServices
    max_concurrent_updates: int


@asynccontextmanager
async def open_bot_runtime(
    settings: Settings,
    *,
    broker: dramatiq.Broker | None = None,
    bot: Bot | None = None,
    throttle_limit: int | None = None,
    throttle_window_seconds: int | None = None,
) -> AsyncIterator[BotRuntime]:
    """Open the database pool, Redis, the broker and the Bot; close them on the way out.

    Parameters:
      settings: the process settings (empty DATABASE_URL / REDIS_URL start embedded servers).
      broker: a broker to send through (tests pass one on their own namespace); default:
        `build_broker` on REDIS_NAMESPACE, with the telemetry middleware.
      bot: an aiogram Bot (default: `build_bot(settings)`); retries are added either way.
      throttle_limit / throttle_window_seconds: the per-user rate limit (default:
        BOT_THROTTLE_LIMIT / BOT_THROTTLE_WINDOW_SECONDS; a limit of 0 turns it off).
    """
    database_url = resolve_database_url(settings)
    redis_url = resolve_redis_url(settings)
    pool = await open_pool(
        database_url, min_size=settings.database_pool_min, max_size=settings.database_pool_max, name="bot"
    )
    # Redis sits before every handler (dedup, throttling, FSM): a hung server must fail fast,
    # and a burst must wait for a pooled connection rather than fail with MaxConnectionsError
    redis = blocking_redis(
        redis_url,
        max_connections=settings.redis_max_connections,
        wait_timeout=REDIS_TIMEOUT_SECONDS,
        socket_timeout=REDIS_TIMEOUT_SECONDS,
        socket_connect_timeout=REDIS_TIMEOUT_SECONDS,
    )
    own_bot = bot is None
    user_rows: UserRows | None = None
    try:
        if broker is None:
            broker = build_broker(settings, redis_url=redis_url, namespace=settings.redis_namespace)
            install_telemetry_middleware(broker)
        bot = prepare_bot(bot or build_bot(settings))
        if settings.bot_user_rows > 0:
            user_rows = UserRows(database_url, max_rows=settings.bot_user_rows)
            user_rows.start()
        services = BotServices(settings=settings, pool=pool, redis=redis, broker=broker, user_rows=user_rows)
        dispatcher = build_dispatcher(
            services=services,
            throttle_limit=settings.bot_throttle_limit if throttle_limit is None else throttle_limit,
            throttle_window_seconds=throttle_window_seconds or settings.bot_throttle_window_seconds,
        )
        yield BotRuntime(
            bot=bot, dispatcher=dispatcher, services=services, max_concurrent_updates=max_concurrent_updates(settings)
        )
    finally:
        if user_rows is not None:
            await user_rows.close()
        if own_bot and bot is not None:
            await bot.session.close()
        await redis.aclose()
        await pool.close()
