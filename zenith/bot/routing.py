"""A message skips the routers none of whose handlers could take it.

aiogram offers a message to every router in turn, and each router checks its handlers'
filters one after the other: /balance went through ten routers (the admin panel's
thirteen behind its root filter among them) and 31 handler checks before its own, about
300 µs of the bot's CPU per update (`benchmarks/bot_dispatch_cost.py --texts /balance`:
805-875 µs warm, 524-539 µs with the balance router moved second).

Most handlers are bound to a command, a menu button's texts or a dialog state, and from
those filters alone it is known which messages they can never take. Each router of the
tree gets a pass (`skip_routers_that_cannot_match`) that lets a message in only when one
of its handlers, or its sub-routers' handlers, could take it; inside, aiogram matches as
before (every filter of every handler, in order). A skipped router would have returned
"unhandled" after checking its filters, so the outcome is the same: the pass is used only
on routers with no outer middleware of their own, and it must be given after every
handler is registered (its answers are kept per kind of message).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from typing import Any

from aiogram import Router
from aiogram.dispatcher.event.bases import UNHANDLED
from aiogram.dispatcher.event.handler import FilterObject, HandlerObject
from aiogram.filters import Command, StateFilter
from aiogram.fsm.state import State
from aiogram.types import Message

from zenith.bot.filters import OnLoop, TextIn

# a message's kind, as far as the filters below can tell: (command, text, dialog state),
# each None unless some filter names it (an unnamed state is OTHER_STATE, not None)
Kind = tuple[str | None, str | None, str | None]
Guard = Callable[[Kind], bool]
OTHER_STATE = "\x00other"


def skip_routers_that_cannot_match(root: Router) -> None:
    """Give every router below ``root`` (not ``root`` itself, whose middlewares must run) the pass."""
    routes = MessageRoutes(root)
    for router in _below(root):
        if router.message.outer_middleware:
            continue  # its middleware runs for every message: never skipped
        _give_pass(router, routes)


class MessageRoutes:
    """Which routers of a tree could take a message of each kind."""

    def __init__(self, root: Router) -> None:
        # each handler's guards, read from its filters once
        self._guards = {
            id(handler): _handler_guards(handler) for router in _below(root) for handler in router.message.handlers
        }
        guards = [guard for handler_guards in self._guards.values() for guard in handler_guards]
        self.commands = {name for g in guards if isinstance(g, _CommandGuard) for name in g.names}
        self.texts = {text for g in guards if isinstance(g, _TextGuard) for text in g.texts}
        self.states = {state for g in guards if isinstance(g, _StateGuard) for state in g.states}
        self._takes: dict[tuple[int, Kind], bool] = {}
        self._last: tuple[Message, str | None, Kind] | None = None

    def kind(self, message: Message, raw_state: str | None) -> Kind:
        last = self._last
        if last is not None and last[0] is message and last[1] == raw_state:
            return last[2]  # the same message offered to the next router
        command = _command_name(message.text or message.caption)
        kind = (
            command if command in self.commands else None,
            message.text if message.text in self.texts else None,
            raw_state if raw_state is None or raw_state in self.states else OTHER_STATE,
        )
        self._last = (message, raw_state, kind)
        return kind

    def could_take(self, router: Router, kind: Kind) -> bool:
        key = (id(router), kind)
        known = self._takes.get(key)
        if known is None:
            known = self._takes[key] = any(
                all(guard(kind) for guard in self._handler_guards(handler))
                for r in (router, *_below(router))
                for handler in r.message.handlers
            )
        return known

    def _handler_guards(self, handler: HandlerObject) -> tuple[Guard, ...]:
        guards = self._guards.get(id(handler))
        return guards if guards is not None else _handler_guards(handler)  # a handler added to the tree later


def _give_pass(router: Router, routes: MessageRoutes) -> None:
    # the class's method, not an earlier pass: a module router given a pass again (a new
    # Dispatcher in the same process) gets one pass, not two
    propagate = type(router).propagate_event.__get__(router)

    async def propagate_event(update_type: str, event: Any, **kwargs: Any) -> Any:
        if (
            update_type == "message"
            and isinstance(event, Message)
            and not routes.could_take(router, routes.kind(event, kwargs.get("raw_state")))
        ):
            return UNHANDLED
        return await propagate(update_type=update_type, event=event, **kwargs)

    router.propagate_event = propagate_event  # type: ignore[method-assign]


def _below(router: Router) -> Iterator[Router]:
    for sub_router in router.sub_routers:
        yield sub_router
        yield from _below(sub_router)


def _handler_guards(handler: HandlerObject) -> tuple[Guard, ...]:
    """What the handler's filters rule out: it could take a message only if every guard lets it."""
    guards = (_filter_guard(f) for f in handler.filters or ())
    return tuple(guard for guard in guards if guard is not None)


def _command_name(text: str | None) -> str | None:
    """The command of ``text`` as aiogram's `Command` reads it ("/balance@bot 5" -> "balance")."""
    if not text:
        return None
    parts = text.split(maxsplit=1)
    if not parts or not parts[0].startswith("/"):
        return None
    return parts[0][1:].partition("@")[0]


class _CommandGuard:
    def __init__(self, names: Iterable[str]) -> None:
        self.names = frozenset(names)

    def __call__(self, kind: Kind) -> bool:
        return kind[0] in self.names


class _TextGuard:
    def __init__(self, texts: Iterable[str]) -> None:
        self.texts = frozenset(texts)

    def __call__(self, kind: Kind) -> bool:
        return kind[1] in self.texts


class _StateGuard:
    def __init__(self, states: Iterable[str | None]) -> None:
        self.states = frozenset(states)

    def __call__(self, kind: Kind) -> bool:
        return "*" in self.states or kind[2] in self.states


def _filter_guard(event_filter: FilterObject) -> Guard | None:
    """What ``event_filter`` alone rules out, or None when it could take any message."""
    callback = event_filter.callback
    if isinstance(callback, OnLoop):
        callback = callback.inner.callback
    if isinstance(callback, Command):
        simple = callback.prefix == "/" and not callback.ignore_case
        if simple and all(isinstance(name, str) for name in callback.commands):
            return _CommandGuard(str(name) for name in callback.commands)
        return None
    if isinstance(callback, TextIn):
        return _TextGuard(callback.texts)
    if isinstance(callback, State):
        return _StateGuard([callback.state])
    if isinstance(callback, StateFilter):
        states: list[str | None] = []
        for state in callback.states:
            if isinstance(state, State):
                states.append(state.state)
            elif state is None or isinstance(state, str):
                states.append(state)
            else:
                return None  # a group of states: left to the filter itself
        return _StateGuard(states)
    return None
