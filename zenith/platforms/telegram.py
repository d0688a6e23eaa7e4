"""Where the Telegram Bot API is: the real one, a configured one, or the local sandbox.

Both the bot process and the notifications actor build their `aiogram.Bot` here, so
they always talk to the same server, and every call goes through a Telegram retry policy.
"""

from __future__ import annotations

from aiogram import Bot
from aiogram.client.default import DefaultBotProperties
from aiogram.client.session.middlewares.base import BaseRequestMiddleware, NextRequestMiddlewareType
from aiogram.client.telegram import TelegramAPIServer
from aiogram.methods import TelegramMethod
from aiogram.methods.base import Response, TelegramType

from zenith.config import Settings
from zenith.platforms.retrying import TELEGRAM, RetryPolicy
from zenith.platforms.telegram_session import FastSession
from zenith.sandbox import SANDBOX_TOKEN  # constants only: cheap to import


def uses_sandbox(settings: Settings) -> bool:
    """No token configured: the bot talks to the local Bot API sandbox."""
    return not settings.telegram_bot_token


def bot_token(settings: Settings) -> str:
    return settings.telegram_bot_token or SANDBOX_TOKEN


def api_base_url(settings: Settings) -> str | None:
    """The Bot API base URL, or None for api.telegram.org."""
    if settings.telegram_api_url:
        return settings.telegram_api_url.rstrip("/")
    if uses_sandbox(settings):
        return f"http://127.0.0.1:{settings.sandbox_port}"
    return None


class RetryRequestMiddleware(BaseRequestMiddleware):
    """Every Bot API call of a Bot's session under a Telegram retry policy.

    What is retried is ``errors.classify``'s verdict on aiogram's errors: 429 (waiting at
    least its ``retry_after``, raised at once when longer than the policy's
    ``max_retry_after``: a handler must not hang for minutes), network errors and 5xx; a
    bad request, a blocked chat or a file too large are raised at once.

    :param policy: the retry policy. Default ``retrying.TELEGRAM``.
    """

    def __init__(self, policy: RetryPolicy = TELEGRAM) -> None:
        self.policy = policy

    async def __call__(
        self,
        make_request: NextRequestMiddlewareType[TelegramType],
        bot: Bot,
        method: TelegramMethod[TelegramType],
    ) -> Response[TelegramType]:
        return await self.policy.call(make_request, bot, method, label=f"Bot API {method.__api_method__}")


def with_retries(bot: Bot, policy: RetryPolicy = TELEGRAM) -> Bot:
    """``bot`` with its calls under ``policy`` (a bot that already has a retry policy keeps it)."""
    if not any(isinstance(m, RetryRequestMiddleware) for m in bot.session.middleware):
        bot.session.middleware(RetryRequestMiddleware(policy))
    return bot


def build_bot(settings: Settings, *, timeout: float = 10.0, retry: RetryPolicy = TELEGRAM) -> Bot:
    """An aiogram Bot (HTML parse mode) pointed at the right Bot API server, its calls
    retried under ``retry``."""
    base = api_base_url(settings)
    api = TelegramAPIServer.from_base(base) if base else None
    session = FastSession(api=api, timeout=timeout) if api else FastSession(timeout=timeout)
    bot = Bot(token=bot_token(settings), session=session, default=DefaultBotProperties(parse_mode="HTML"))
    return with_retries(bot, retry)
