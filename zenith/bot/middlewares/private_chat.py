"""The bot works in private chats only: groups get one pointer to the private chat, buttons there are refused."""

from __future__ import annotations

import logging
from typing import Any

from aiogram import BaseMiddleware, Bot
from aiogram.enums import ChatType
from aiogram.exceptions import TelegramAPIError
from aiogram.types import CallbackQuery, Chat, Message, TelegramObject
from redis.asyncio import Redis
from redis.exceptions import RedisError

from zenith.bot.middlewares.base import Handler
from zenith.i18n import get_translator, normalize_language

logger = logging.getLogger(__name__)


class PrivateChatOnlyMiddleware(BaseMiddleware):
    """Outer middleware on messages and callback queries, before any other of ours.

    An event from a group, supergroup or channel never reaches throttling, the user row or
    a handler: nothing is registered, submitted or changed from a shared chat (a link sent
    there would otherwise be taken as the sender's submission, with replies visible to all).

    - A message: the chat is told once (per `notice_ttl_seconds`) that the bot works in a
      private chat, with the bot's @username; every other message there is ignored.
    - A callback query: answered with that text as an alert, nothing done. A press on an
      inline-mode message (no chat known) is refused the same way.

    Parameters:
      redis: an async Redis client (the "told once" mark: ``{prefix}:group_notice:{chat_id}``).
      prefix: key prefix, e.g. "zenith:bot".
      default_language: language of the notice when the sender's is unknown (default "ru").
      notice_ttl_seconds: how long a chat stays told (default 30 days).
    """

    def __init__(
        self, *, redis: Redis, prefix: str, default_language: str = "ru", notice_ttl_seconds: int = 30 * 86_400
    ) -> None:
        self.redis = redis
        self.prefix = prefix
        self.default_language = default_language
        self.notice_ttl_seconds = notice_ttl_seconds

    async def __call__(self, handler: Handler, event: TelegramObject, data: dict[str, Any]) -> Any:
        chat = _chat_of(event)
        if chat is not None and chat.type == ChatType.PRIVATE:
            return await handler(event, data)
        if isinstance(event, CallbackQuery):
            await event.answer(await self._notice(event, data.get("bot")), show_alert=True)
        elif isinstance(event, Message) and chat is not None and await self._first_in_chat(chat.id):
            await event.answer(await self._notice(event, data.get("bot")))
        logger.info(
            "event from a %s chat ignored",
            chat.type if chat is not None else "inline",
            extra={"update_type": type(event).__name__},
        )
        return None

    async def _first_in_chat(self, chat_id: int) -> bool:
        try:
            return bool(
                await self.redis.set(f"{self.prefix}:group_notice:{chat_id}", 1, nx=True, ex=self.notice_ttl_seconds)
            )
        except RedisError as exc:
            # without the mark the notice could repeat on every message: stay quiet instead
            logger.warning("group notice mark unavailable (%r); message ignored silently", exc)
            return False

    async def _notice(self, event: TelegramObject, bot: Bot | None) -> str:
        sender = getattr(event, "from_user", None)
        i18n = get_translator(
            normalize_language(sender.language_code if sender else None, default=self.default_language)
        )
        username = await _bot_username(bot)
        return i18n("common.private_only_link", bot=f"@{username}") if username else i18n("common.private_only")


async def _bot_username(bot: Bot | None) -> str | None:
    """The bot's @username (cached by aiogram after the first getMe); None if unknown."""
    if bot is None:
        return None
    try:
        return (await bot.me()).username
    except TelegramAPIError:
        return None


def _chat_of(event: TelegramObject) -> Chat | None:
    if isinstance(event, Message):
        return event.chat
    if isinstance(event, CallbackQuery) and event.message is not None:
        return event.message.chat
    return None
