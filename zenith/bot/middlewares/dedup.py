"""Drop an update Telegram delivers a second time (same update_id)."""

from __future__ import annotations

import logging
from typing import Any

from aiogram.types import Update
from redis.asyncio import Redis
from redis.exceptions import RedisError

from zenith.bot.middlewares.base import Proceed, UpdateMiddleware

logger = logging.getLogger(__name__)


class UpdateDedupMiddleware(UpdateMiddleware):
    """Outer middleware on ``dp.update``: the first delivery of an update_id wins.

    Telegram re-sends an update when the webhook answer was lost or polling restarted
    before the offset was confirmed; handling it twice would answer twice (submission
    itself is also idempotent through its request_id).

    Parameters:
      redis: an async Redis client.
      prefix: key prefix, e.g. "zenith:bot" (keys: ``{prefix}:update:{bot_id}:{update_id}``).
      ttl_seconds: how long an update_id is remembered (default one day; Telegram keeps
        undelivered updates for 24 hours).
    """

    def __init__(self, *, redis: Redis, prefix: str, ttl_seconds: int = 86_400) -> None:
        self.redis = redis
        self.prefix = prefix
        self.ttl_seconds = ttl_seconds

    async def on_update(self, update: Update, data: dict[str, Any], proceed: Proceed) -> Any:
        bot = data.get("bot")
        key = f"{self.prefix}:update:{bot.id if bot else 0}:{update.update_id}"
        try:
            first = await self.redis.set(key, 1, nx=True, ex=self.ttl_seconds)
        except RedisError:
            # Redis down: handle the update rather than drop it (submission stays idempotent).
            logger.warning("update de-duplication unavailable; handling update %s", update.update_id, exc_info=True)
            first = True
        if not first:
            logger.info("update %s delivered again; skipped", update.update_id)
            return None
        return await proceed()
