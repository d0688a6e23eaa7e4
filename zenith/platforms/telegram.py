"""Where the Telegram Bot API is: the real one, a configured one, or the local sandbox.

Both the bot process and the notifications actor build their `aiogram.Bot` here, so
they always talk to the same server.
"""

from __future__ import annotations

from aiogram import Bot
from aiogram.client.default import DefaultBotProperties
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer

from zenith.config import Settings
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


def build_bot(settings: Settings, *, timeout: float = 10.0) -> Bot:
    """An aiogram Bot (HTML parse mode) pointed at the right Bot API server."""
    base = api_base_url(settings)
    api = TelegramAPIServer.from_base(base) if base else None
    session = AiohttpSession(api=api, timeout=timeout) if api else AiohttpSession(timeout=timeout)
    return Bot(token=bot_token(settings), session=session, default=DefaultBotProperties(parse_mode="HTML"))
