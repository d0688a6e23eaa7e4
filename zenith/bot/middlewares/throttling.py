"""Per-user rate limit backed by Redis: a flooding user is told once to slow down."""

from __future__ import annotations

import logging
import time
from typing import Any

from aiogram.types import CallbackQuery, Message, TelegramObject, User
from redis.asyncio import Redis
from redis.exceptions import RedisError

from zenith.bot.middlewares.base import Proceed, SenderMiddleware
from zenith.i18n import get_translator, normalize_language

logger = logging.getLogger(__name__)


class ThrottlingMiddleware(SenderMiddleware):
    """Outer middleware on messages and callback queries: at most `limit` events per window.

    The counter is a fixed window per user (``INCR`` + ``EXPIRE``), shared by every bot
    process through Redis. The first event over the limit in a window gets one
    "slow down" answer; the rest of the window is dropped silently, so a flood never
    queues work and never earns more than one reply.

    Parameters:
      redis: an async Redis client.
      prefix: key prefix, e.g. "zenith:bot".
      limit: events allowed per window (default 8).
      window_seconds: window length (default 5).
      default_language: language of the warning before the user row is known.
    """

    def __init__(
        self, *, redis: Redis, prefix: str, limit: int = 8, window_seconds: int = 5, default_language: str = "ru"
    ) -> None:
        self.redis = redis
        self.prefix = prefix
        self.limit = limit
        self.window_seconds = window_seconds
        self.default_language = default_language

    async def on_event(self, event: TelegramObject, data: dict[str, Any], user: User, proceed: Proceed) -> Any:
        window = int(time.time()) // self.window_seconds
        key = f"{self.prefix}:throttle:{user.id}:{window}"
        try:
            async with self.redis.pipeline(transaction=True) as pipe:
                pipe.incr(key)
                pipe.expire(key, self.window_seconds * 2)
                count, _ = await pipe.execute()
        except RedisError as exc:
            logger.warning("throttling unavailable (%r); letting the event through", exc)
            return await proceed()
        if count <= self.limit:
            return await proceed()
        if count == self.limit + 1:
            await self._warn(event, language=normalize_language(user.language_code, default=self.default_language))
        return None

    async def _warn(self, event: TelegramObject, *, language: str) -> None:
        text = get_translator(language)("common.slow_down")
        if isinstance(event, Message):
            await event.answer(text)
        elif isinstance(event, CallbackQuery):
            await event.answer(text, show_alert=True)
