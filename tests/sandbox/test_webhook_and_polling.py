"""Webhook delivery (with aiogram's SimpleRequestHandler) and getUpdates rules."""

from __future__ import annotations

import asyncio

import pytest
from aiogram.exceptions import TelegramConflictError
from aiogram.webhook.aiohttp_server import SimpleRequestHandler
from aiohttp import web

from tests.sandbox.echo_bot import build_dispatcher

USER = 2002
SECRET = "s3cret-token_1"


async def serve_webhook(app: web.Application) -> tuple[web.AppRunner, str]:
    runner = web.AppRunner(app, shutdown_timeout=1)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    return runner, f"http://127.0.0.1:{runner.addresses[0][1]}"


@pytest.mark.parametrize("in_background", [True, False])
async def test_webhook_delivers_updates_with_the_secret_header(sandbox, bot, in_background):
    seen_secrets: list[str | None] = []

    @web.middleware
    async def record_secret(request, handler):
        seen_secrets.append(request.headers.get("X-Telegram-Bot-Api-Secret-Token"))
        return await handler(request)

    app = web.Application(middlewares=[record_secret])
    SimpleRequestHandler(
        dispatcher=build_dispatcher(), bot=bot, secret_token=SECRET, handle_in_background=in_background
    ).register(app, path="/hook")
    runner, base = await serve_webhook(app)
    try:
        assert await bot.set_webhook(f"{base}/hook", secret_token=SECRET)
        info = await bot.get_webhook_info()
        assert info.url == f"{base}/hook"
        with pytest.raises(TelegramConflictError, match="webhook is active"):
            await bot.get_updates()

        state = sandbox.state
        state.user_sends_text(USER, "ping")
        # handle_in_background=False answers with the sendMessage call in the reply body
        assert (await state.wait_for_message(USER, contains="echo:")).text == "echo: ping"
        assert seen_secrets == [SECRET]
        assert (await bot.get_webhook_info()).pending_update_count == 0
    finally:
        await bot.delete_webhook()
        await runner.cleanup()


async def test_webhook_rejecting_wrong_secret_keeps_the_update(sandbox, bot):
    app = web.Application()
    SimpleRequestHandler(dispatcher=build_dispatcher(), bot=bot, secret_token="expected").register(app, path="/hook")
    runner, base = await serve_webhook(app)
    try:
        await bot.set_webhook(f"{base}/hook", secret_token="other")
        sandbox.state.user_sends_text(USER, "ping")
        for _ in range(50):
            info = await bot.get_webhook_info()
            if info.last_error_message:
                break
            await asyncio.sleep(0.05)
        assert "401" in info.last_error_message
        assert info.pending_update_count == 1
        await bot.delete_webhook()
        updates = await bot.get_updates(timeout=0)
        assert [u.message.text for u in updates] == ["ping"]
    finally:
        await runner.cleanup()


async def test_get_updates_offset_limit_timeout_and_conflict(sandbox, bot):
    state = sandbox.state
    for text in ("a", "b", "c"):
        state.user_sends_text(USER, text)
    first = await bot.get_updates(limit=2, timeout=0)
    assert [u.message.text for u in first] == ["a", "b"]
    rest = await bot.get_updates(offset=first[-1].update_id + 1, timeout=0)
    assert [u.message.text for u in rest] == ["c"]

    # a waiting call returns as soon as an update arrives
    waiting = asyncio.create_task(bot.get_updates(offset=rest[-1].update_id + 1, timeout=5))
    await asyncio.sleep(0.1)
    state.user_sends_text(USER, "d")
    assert [u.message.text for u in await asyncio.wait_for(waiting, 2)] == ["d"]

    # a second poller ends the first with 409, as when two bot instances run
    older = asyncio.create_task(bot.get_updates(offset=10**12, timeout=5))
    await asyncio.sleep(0.1)
    newer = asyncio.create_task(bot.get_updates(offset=10**12, timeout=0))
    with pytest.raises(TelegramConflictError, match="terminated by other getUpdates"):
        await asyncio.wait_for(older, 2)
    assert await newer == []


async def test_allowed_updates_filter_what_is_queued(sandbox, bot):
    state = sandbox.state
    await bot.get_updates(timeout=0, allowed_updates=["callback_query"])
    state.user_sends_text(USER, "dropped")
    assert await bot.get_updates(timeout=0) == []
    await bot.get_updates(timeout=0, allowed_updates=[])
    state.user_sends_text(USER, "kept")
    assert [u.message.text for u in await bot.get_updates(timeout=0)] == ["kept"]


async def test_method_returned_in_webhook_reply_is_executed(sandbox, bot):
    from aiogram import Dispatcher, Router
    from aiogram.types import Message

    router = Router()

    @router.message()
    async def reply_in_response(message: Message):
        return message.answer(f"from reply body: {message.text}")  # not awaited: goes back in the HTTP reply

    dispatcher = Dispatcher()
    dispatcher.include_router(router)
    app = web.Application()
    SimpleRequestHandler(dispatcher=dispatcher, bot=bot, handle_in_background=False).register(app, path="/hook")
    runner, base = await serve_webhook(app)
    try:
        await bot.set_webhook(f"{base}/hook")
        sandbox.state.user_sends_text(USER, "hi")
        message = await sandbox.state.wait_for_message(USER, contains="from reply body")
        assert message.text == "from reply body: hi"
        assert sandbox.state.calls == ["setWebhook", "webhook-reply:sendMessage"]
    finally:
        await bot.delete_webhook()
        await runner.cleanup()
