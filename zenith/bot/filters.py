"""Message and button filters written as coroutines.

aiogram runs a filter that is not a coroutine -- a magic filter such as ``F.text`` or
``F.text.in_(...)`` -- in a worker thread (``asyncio.to_thread``) on every check, and an
update is checked against the filters of every handler before the one that takes it:
with the menu's button filters that was a dozen thread round trips per update, the
largest single cost of the bot's CPU per update. These do the same tests on the loop,
and `run_filters_on_loop` moves the remaining synchronous ones there too: a dialog state
as a filter (``@router.message(Withdraw.amount)``) is such a function, checked against
every message that reaches its router.
"""

from __future__ import annotations

from typing import Any, Iterable

from aiogram import Router
from aiogram.dispatcher.event.handler import FilterObject, HandlerObject
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


class OnLoop(Filter):
    """A synchronous filter (a dialog state, a magic filter) called on the loop, not in a thread.

    Only for filters that do no I/O -- every synchronous filter of this bot compares a
    value it already has.
    """

    def __init__(self, inner: FilterObject) -> None:
        self.inner = inner

    async def __call__(self, *args: Any, **data: Any) -> Any:
        inner = self.inner
        kwargs = data if inner.varkw else {name: data[name] for name in inner.params if name in data}
        return inner.callback(*args, **kwargs)


def run_filters_on_loop(router: Router) -> None:
    """Wrap each synchronous filter of ``router`` and its sub-routers in `OnLoop`, once."""
    for observer in router.observers.values():
        # observer-wide filters (``router.message.filter(...)``) sit in a handler of their own
        for handler in (observer._handler, *observer.handlers):
            _on_loop(handler)
    for sub_router in router.sub_routers:
        run_filters_on_loop(sub_router)


def _on_loop(handler: HandlerObject) -> None:
    if handler.filters:
        handler.filters = [f if f.awaitable else FilterObject(callback=OnLoop(f)) for f in handler.filters]
