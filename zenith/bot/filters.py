"""Message and button filters written as coroutines.

aiogram runs a filter that is not a coroutine -- a magic filter such as ``F.text`` or
``F.text.in_(...)`` -- in a worker thread (``asyncio.to_thread``) on every check, and an
update is checked against the filters of every handler before the one that takes it:
with the menu's button filters that was a dozen thread round trips per update, the
largest single cost of the bot's CPU per update. These do the same tests on the loop.
"""

from __future__ import annotations

from typing import Iterable

from aiogram.filters import Filter
from aiogram.types import CallbackQuery, Message


class TextIn(Filter):
    """The message's text is one of ``texts`` (e.g. a menu button in any language)."""

    def __init__(self, texts: Iterable[str]) -> None:
        self.texts = frozenset(texts)

    async def __call__(self, message: Message) -> bool:
        return message.text in self.texts


class HasText(Filter):
    """The message has text (not a photo, sticker, ...)."""

    async def __call__(self, message: Message) -> bool:
        return bool(message.text)


class CallbackPrefixIn(Filter):
    """The button's callback data starts with one of ``prefixes`` (then ``:``)."""

    def __init__(self, prefixes: Iterable[str]) -> None:
        self.prefixes = frozenset(prefixes)

    async def __call__(self, query: CallbackQuery) -> bool:
        return query.data is not None and query.data.split(":", 1)[0] in self.prefixes
