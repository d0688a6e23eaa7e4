"""The user row, their translator and admin flag for every message and button press."""

from __future__ import annotations

from typing import Any, Awaitable, Callable

from aiogram import BaseMiddleware
from aiogram.types import TelegramObject

from zenith.bot.services import BotServices
from zenith.i18n import get_translator, normalize_language
from zenith.storage import users


class UserMiddleware(BaseMiddleware):
    """Outer middleware on messages and callback queries.

    Registers the sender on first contact (``users.get_or_create``, language from
    Telegram's language_code, else DEFAULT_LANGUAGE) and puts into the handler data:
    ``user`` (`zenith.storage.users.User`), ``i18n`` (`Translator` in the user's language)
    and ``is_admin`` (Telegram id in ADMIN_IDS). Events without a sender pass unchanged.

    Parameters:
      services: the bot's services (database under deadline, settings).
    """

    def __init__(self, *, services: BotServices) -> None:
        self.services = services

    async def __call__(
        self,
        handler: Callable[[TelegramObject, dict[str, Any]], Awaitable[Any]],
        event: TelegramObject,
        data: dict[str, Any],
    ) -> Any:
        sender = data.get("event_from_user")
        if sender is None or sender.is_bot:
            return await handler(event, data)
        language = normalize_language(sender.language_code, default=self.services.settings.default_language)
        async with self.services.read() as conn:
            user = await users.get_or_create(
                conn,
                telegram_id=sender.id,
                language=language,
                username=sender.username,
                first_name=sender.first_name,
            )
        data["user"] = user
        data["i18n"] = get_translator(user.language)
        data["is_admin"] = self.services.is_admin(sender.id)
        return await handler(event, data)
