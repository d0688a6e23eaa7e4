"""Pressing a main-menu button leaves whatever multi-step dialog the user was in."""

from __future__ import annotations

from typing import Any, Awaitable, Callable

from aiogram import BaseMiddleware
from aiogram.fsm.context import FSMContext
from aiogram.types import Message, TelegramObject

from zenith.bot.keyboards.menu import MENU_ROWS, button_texts

_MENU_TEXTS = frozenset().union(*(button_texts(key) for row in MENU_ROWS for key in row), button_texts("menu.admin"))


class MenuResetsStateMiddleware(BaseMiddleware):
    """Outer middleware on messages: a menu button or a command clears the FSM state.

    Without it a creator who opened "Withdraw", then pressed "My videos" and later typed
    a word would still be answered as if they were entering an amount.
    """

    async def __call__(
        self,
        handler: Callable[[TelegramObject, dict[str, Any]], Awaitable[Any]],
        event: TelegramObject,
        data: dict[str, Any],
    ) -> Any:
        state: FSMContext | None = data.get("state")
        # raw_state: what aiogram's FSM middleware read for this event; nothing to clear
        # (two Redis writes per command) when the user is in no dialog
        if (
            isinstance(event, Message)
            and state is not None
            and data.get("raw_state") is not None
            and event.text
            and (event.text in _MENU_TEXTS or (event.text.startswith("/") and not event.text.startswith("/cancel")))
        ):
            await state.clear()
        return await handler(event, data)
