"""Every filter of the bot runs on the event loop: aiogram would hand a synchronous one to a
thread on every check of every update (a dialog state used as a filter is one)."""

from __future__ import annotations

import asyncio

from aiogram import Dispatcher, F, Router
from aiogram.fsm.state import State, StatesGroup

from zenith.bot.filters import OnLoop, run_filters_on_loop
from zenith.bot.handlers import build_routers


class Dialog(StatesGroup):
    amount = State()


def _filters(router: Router):
    for observer in router.observers.values():
        for handler in (observer._handler, *observer.handlers):
            yield from handler.filters or []
    for sub_router in router.sub_routers:
        yield from _filters(sub_router)


def test_every_filter_of_the_bot_is_a_coroutine_after_the_swap():
    dispatcher = Dispatcher()
    dispatcher.include_routers(*build_routers())  # module routers: another dispatcher may have swapped them
    run_filters_on_loop(dispatcher)

    assert [f.callback for f in _filters(dispatcher) if not f.awaitable] == []


async def test_a_swapped_filter_gives_the_same_answers_without_a_thread(monkeypatch):
    router = Router()

    @router.message(Dialog.amount, F.text.startswith("1"))
    async def amount(message) -> None:
        return None

    run_filters_on_loop(router)
    state_filter, magic_filter = router.message.handlers[0].filters
    assert isinstance(state_filter.callback, OnLoop) and isinstance(magic_filter.callback, OnLoop)

    async def no_threads(*args, **kwargs):
        raise AssertionError("a filter was sent to a thread")

    monkeypatch.setattr(asyncio, "to_thread", no_threads)
    event = type("Event", (), {"text": "100"})()
    assert await state_filter.call(event, raw_state=Dialog.amount.state, bot=None) is True
    assert await state_filter.call(event, raw_state=None, bot=None) is False
    assert await magic_filter.call(event, raw_state=None) is True
    other = type("Event", (), {"text": "abc"})()
    assert not await magic_filter.call(other, raw_state=None)
