"""The user row, their translator and admin flag for every message and button press."""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

from aiogram.types import TelegramObject, User

from zenith.bot.middlewares.base import Proceed, SenderMiddleware
from zenith.bot.services import BotServices
from zenith.i18n import get_translator, normalize_language
from zenith.storage import users


class UserMiddleware(SenderMiddleware):
    """Outer middleware on messages and callback queries.

    Registers the sender on first contact (language from Telegram's language_code, else
    DEFAULT_LANGUAGE), records them seen (at most hourly), both as ``users.contact`` does (the
    senders of one burst together, `zenith.bot.contacts`), and
    puts into the handler data:
    ``user`` (`zenith.storage.users.User`), ``i18n`` (`Translator` in the user's language)
    and ``is_admin`` (Telegram id in ADMIN_IDS). Events without a sender pass unchanged.

    Parameters:
      services: the bot's services (database under deadline, settings).
    """

    def __init__(self, *, services: BotServices) -> None:
        self.services = services

    async def on_event(self, event: TelegramObject, data: dict[str, Any], sender: User, proceed: Proceed) -> Any:
        now = datetime.now(timezone.utc)
        rows = self.services.user_rows
        user = rows.get(sender.id) if rows is not None else None
        if user is None or not users.is_current(user, username=sender.username, first_name=sender.first_name, now=now):
            user = await self._read(sender)
        data["user"] = user
        data["i18n"] = get_translator(user.language)
        data["is_admin"] = self.services.is_admin(sender.id)
        return await proceed()

    async def _read(self, sender: User) -> users.User:
        """The sender's row from PostgreSQL (registered, refreshed, marked seen; with the other senders
        of the burst, `zenith.bot.contacts`), kept for the next update."""
        rows = self.services.user_rows
        read_at = rows.generation if rows is not None else 0
        language = normalize_language(sender.language_code, default=self.services.settings.default_language)
        user: users.User = await self.services.sender_reads.call(
            users.Contact(
                telegram_id=sender.id, language=language, username=sender.username, first_name=sender.first_name
            )
        )
        if rows is not None:
            rows.keep(user, read_at=read_at)
        return user
