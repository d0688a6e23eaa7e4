"""Base classes that hold what every middleware of the bot would otherwise repeat.

aiogram calls a middleware as ``__call__(handler, event, data)`` for every event of its
observer. Ours act on one kind of event only -- a whole Update, or an event that has a
sender -- and let everything else through untouched; the subclasses implement just the
part that differs, and call ``proceed()`` to run the rest of the chain.
"""

from __future__ import annotations

from abc import abstractmethod
from typing import Any, Awaitable, Callable

from aiogram import BaseMiddleware
from aiogram.types import TelegramObject, Update, User

Handler = Callable[[TelegramObject, dict[str, Any]], Awaitable[Any]]
Proceed = Callable[[], Awaitable[Any]]


class UpdateMiddleware(BaseMiddleware):
    """Outer middleware on ``dp.update``: `on_update` sees each Update once."""

    async def __call__(self, handler: Handler, event: TelegramObject, data: dict[str, Any]) -> Any:
        if not isinstance(event, Update):
            return await handler(event, data)
        return await self.on_update(event, data, lambda: handler(event, data))

    @abstractmethod
    async def on_update(self, update: Update, data: dict[str, Any], proceed: Proceed) -> Any:
        """Act on `update`; ``await proceed()`` runs the rest of the chain."""


class SenderMiddleware(BaseMiddleware):
    """Outer middleware on messages / callback queries: `on_event` sees events sent by a person.

    Events without a sender (channel posts) and from bots pass through unchanged.
    """

    async def __call__(self, handler: Handler, event: TelegramObject, data: dict[str, Any]) -> Any:
        sender: User | None = data.get("event_from_user")
        if sender is None or sender.is_bot:
            return await handler(event, data)
        return await self.on_event(event, data, sender, lambda: handler(event, data))

    @abstractmethod
    async def on_event(self, event: TelegramObject, data: dict[str, Any], sender: User, proceed: Proceed) -> Any:
        """Act on `event` from `sender`; ``await proceed()`` runs the rest of the chain."""
