"""Who is an admin: the sender's Telegram id is in ADMIN_IDS."""

from __future__ import annotations

from aiogram.filters import Filter
from aiogram.types import CallbackQuery, Message

from zenith.bot.services import BotServices
from zenith.storage.users import User


class IsAdmin(Filter):
    async def __call__(self, event: Message | CallbackQuery, services: BotServices) -> bool:
        sender = event.from_user
        return sender is not None and services.is_admin(sender.id)


def user_label(user: User) -> str:
    """How admins see a creator: @username, else the first name, with the Telegram id."""
    name = f"@{user.username}" if user.username else (user.first_name or "—")
    return f"{name} ({user.telegram_id})"
