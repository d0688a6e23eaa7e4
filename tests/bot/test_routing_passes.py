"""A message skips the routers that could not take it, and lands on the very handler it
landed on before: every command, menu button, dialog state and odd text, admin or not."""

from __future__ import annotations

from types import SimpleNamespace

import pytest
from aiogram import Bot, Router
from aiogram.dispatcher.event.bases import UNHANDLED
from aiogram.dispatcher.event.handler import HandlerObject
from aiogram.types import Message, User

from zenith.bot.filters import run_filters_on_loop
from zenith.bot.handlers import build_routers
from zenith.bot.routing import MessageRoutes, _below, skip_routers_that_cannot_match
from zenith.sandbox.runner import SANDBOX_TOKEN

ADMIN_ID, CREATOR_ID = 7001, 7002


def _tree() -> Router:
    root = Router(name="root")
    root.include_routers(*build_routers())
    run_filters_on_loop(root)
    return root


def _without_passes(root: Router) -> None:
    for router in _below(root):
        vars(router).pop("propagate_event", None)


def _message(*, text: str | None, caption: str | None = None, sender: int) -> Message:
    fields = (
        {"text": text}
        if text is not None
        else {"photo": [{"file_id": "p", "file_unique_id": "p", "width": 1, "height": 1}]}
    )
    if caption is not None:
        fields["caption"] = caption
    return Message.model_validate(
        {
            "message_id": 1,
            "date": 1_700_000_000,
            "chat": {"id": sender, "type": "private"},
            "from": {"id": sender, "is_bot": False, "first_name": "C"},
            **fields,
        }
    )


def _cases(routes: MessageRoutes) -> list[tuple[dict, str | None]]:
    texts: list[dict] = [{"text": t} for t in sorted(routes.texts)]
    for name in sorted(routes.commands):
        texts += [
            {"text": f"/{name}"},
            {"text": f"/{name}@bench_bot"},
            {"text": f"/{name}@other_bot"},
            {"text": f"/{name} 42"},
            {"text": f"  /{name}"},
            {"text": None, "caption": f"/{name}"},
        ]
    texts += [
        {"text": "/nope"},
        {"text": "/"},
        {"text": "hello"},
        {"text": "https://youtu.be/dQw4w9WgXcQ"},
        {"text": "150"},
        {"text": None},
        {"text": None, "caption": "a photo"},
    ]
    states: list[str | None] = [None, "Unknown:state", *sorted(s for s in routes.states if s not in (None, "*"))]
    return [(message, state) for message in texts for state in states]


async def _taken_by(root: Router, message: Message, raw_state: str | None, bot: Bot) -> str | None:
    services = SimpleNamespace(is_admin=lambda telegram_id: telegram_id == ADMIN_ID)
    result = await root.propagate_event(
        update_type="message",
        event=message,
        bot=bot,
        raw_state=raw_state,
        state=None,
        services=services,
        is_admin=message.from_user.id == ADMIN_ID,
        event_from_user=message.from_user,
        event_chat=message.chat,
    )
    return None if result is UNHANDLED else result


@pytest.fixture
def handlers_named(monkeypatch):
    """Handlers answer with their own name instead of running."""

    async def named(self, *args, **kwargs):
        return self.callback.__name__

    monkeypatch.setattr(HandlerObject, "call", named)


async def test_every_message_lands_on_the_same_handler_with_and_without_the_passes(handlers_named):
    bot = Bot(SANDBOX_TOKEN)
    bot._me = User(id=1, is_bot=True, first_name="Bot", username="bench_bot")  # no getMe call
    root = _tree()
    routes = MessageRoutes(root)
    assert {"balance", "help", "start", "admin"} <= routes.commands and routes.texts and routes.states
    cases = _cases(routes)
    before = []
    _without_passes(root)
    for fields, state in cases:
        for sender in (CREATOR_ID, ADMIN_ID):
            before.append(await _taken_by(root, _message(**fields, sender=sender), state, bot))
    skip_routers_that_cannot_match(root)
    after = []
    for fields, state in cases:
        for sender in (CREATOR_ID, ADMIN_ID):
            after.append(await _taken_by(root, _message(**fields, sender=sender), state, bot))
    assert after == before
    assert len(set(before)) > 20  # the cases reach handlers all over the tree, not one fallback
    await bot.session.close()


async def test_a_router_is_skipped_only_when_none_of_its_handlers_could_take_the_message():
    root = _tree()
    routes = MessageRoutes(root)
    by_name = {router.name: router for router in _below(root)}
    balance = routes.kind(_message(text="/balance", sender=CREATOR_ID), None)
    assert routes.could_take(by_name["zenith.bot.handlers.balance"], balance)
    assert not routes.could_take(by_name["zenith.bot.handlers.videos"], balance)
    assert not routes.could_take(by_name["zenith.bot.handlers.admin"], balance)  # the panel's whole subtree
    assert routes.could_take(by_name["zenith.bot.handlers.fallback"], balance)  # it takes anything
    # a dialog state brings its router back in for the same text
    state = next(s for s in routes.states if s and s.startswith("Withdraw"))
    in_dialog = routes.kind(_message(text="/balance", sender=CREATOR_ID), state)
    assert routes.could_take(by_name["zenith.bot.handlers.withdraw"], in_dialog)
    assert not routes.could_take(by_name["zenith.bot.handlers.withdraw"], balance)


def test_a_router_given_the_pass_twice_has_one_pass():
    root = _tree()
    skip_routers_that_cannot_match(root)
    skip_routers_that_cannot_match(root)
    router = next(_below(root))
    inner = router.propagate_event
    assert "propagate" in inner.__code__.co_freevars  # the pass wraps the class's method, not a pass
    assert inner.__closure__[inner.__code__.co_freevars.index("propagate")].cell_contents.__func__ is (
        type(router).propagate_event
    )
