"""Outgoing Bot API calls that survive 429 (flood control) and network/server errors."""

from __future__ import annotations

import asyncio
import logging
import random
from typing import Any

from aiogram import Bot
from aiogram.client.session.middlewares.base import BaseRequestMiddleware, NextRequestMiddlewareType
from aiogram.exceptions import TelegramEntityTooLarge, TelegramNetworkError, TelegramRetryAfter, TelegramServerError
from aiogram.methods import TelegramMethod
from aiogram.methods.base import Response, TelegramType

logger = logging.getLogger(__name__)


class RetryRequestMiddleware(BaseRequestMiddleware):
    """Retry a Bot API call on 429, network errors and 5xx, a bounded number of times.

    429 waits exactly ``retry_after`` (Telegram's instruction) unless it is longer than
    ``max_retry_after`` -- then the error is raised, because a handler must not hang for
    minutes. Network and server errors back off exponentially with jitter.

    Parameters:
      attempts: tries in total, first one included (default 4).
      base_delay: first back-off in seconds (default 0.5), doubled each time.
      max_delay: cap of one back-off (default 5).
      max_retry_after: longest flood-control wait honoured, seconds (default 30).
    """

    def __init__(
        self, *, attempts: int = 4, base_delay: float = 0.5, max_delay: float = 5.0, max_retry_after: float = 30.0
    ) -> None:
        self.attempts = attempts
        self.base_delay = base_delay
        self.max_delay = max_delay
        self.max_retry_after = max_retry_after

    async def __call__(
        self,
        make_request: NextRequestMiddlewareType[TelegramType],
        bot: Bot,
        method: TelegramMethod[TelegramType],
    ) -> Response[TelegramType]:
        for attempt in range(1, self.attempts + 1):
            try:
                return await make_request(bot, method)
            except TelegramRetryAfter as exc:
                if attempt == self.attempts or exc.retry_after > self.max_retry_after:
                    raise
                delay: float = exc.retry_after
                reason: Any = "429"
            except TelegramEntityTooLarge:
                raise  # the same file will be too large again
            except (TelegramNetworkError, TelegramServerError) as exc:
                if attempt == self.attempts:
                    raise
                delay = min(self.max_delay, self.base_delay * 2 ** (attempt - 1)) * (0.5 + random.random() / 2)
                reason = type(exc).__name__
            logger.warning(
                "Bot API %s failed (%s); retry %d/%d in %.1fs",
                method.__api_method__,
                reason,
                attempt,
                self.attempts - 1,
                delay,
            )
            await asyncio.sleep(delay)
        raise AssertionError("unreachable: the loop returns or raises")
