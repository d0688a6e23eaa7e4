"""The web app: webhook secret check, updates handled through the dispatcher, health and metrics."""

from __future__ import annotations

import aiohttp
import pytest
from aiohttp.test_utils import TestServer

from tests.bot.conftest import new_telegram_id, private_text_update, queued
from zenith.bot.runtime import open_bot_runtime
from zenith.web.app import build_web_app
from zenith.web.webhook import public_webhook_url, webhook_path

SECRET = "s3cret-Token_value"


@pytest.fixture
async def web(make_settings, bot_env, broker, sandbox):
    settings = make_settings(
        **{**bot_env, "WEBHOOK_URL": "https://bot.example.com/telegram/webhook", "WEBHOOK_SECRET": SECRET}
    )
    async with open_bot_runtime(settings, broker=broker) as runtime:
        app = build_web_app(runtime=runtime, with_webhook=True, handle_in_background=False)
        server = TestServer(app)
        await server.start_server()
        try:
            async with aiohttp.ClientSession(base_url=str(server.make_url(""))) as client:
                yield client
        finally:
            await server.close()


async def test_wrong_or_missing_secret_is_refused(web, redis, namespace):
    uid = new_telegram_id()
    body = private_text_update(1, uid, "https://youtu.be/dQw4w9WgXcQ")
    for headers in (
        {},
        {"X-Telegram-Bot-Api-Secret-Token": "wrong"},
        {"X-Telegram-Bot-Api-Secret-Token": SECRET + "x"},
    ):
        async with web.post("/telegram/webhook", json=body, headers=headers) as response:
            assert response.status == 401
    assert await queued(redis, namespace, "submission") == []


async def test_right_secret_is_handled(web, sandbox, redis, namespace):
    uid = new_telegram_id()
    sandbox.state.add_user(uid, first_name="Web", language_code="en")
    headers = {"X-Telegram-Bot-Api-Secret-Token": SECRET}
    async with web.post(
        "/telegram/webhook",
        json=private_text_update(new_telegram_id(), uid, "https://youtu.be/dQw4w9WgXcQ"),
        headers=headers,
    ) as response:
        assert response.status == 200
    (message,) = await queued(redis, namespace, "submission")
    assert message.args[1] == "https://www.youtube.com/watch?v=dQw4w9WgXcQ"
    await sandbox.state.wait_for_message(uid, contains="1 link accepted", after=0)
    async with web.post("/telegram/webhook", data=b"not json", headers=headers) as response:
        assert response.status == 400


async def test_health_and_metrics(web):
    async with web.get("/healthz") as response:
        assert response.status == 200
        assert await response.json() == {"status": "ok", "database": "ok", "redis": "ok"}
    async with web.get("/metrics") as response:
        assert response.status == 200
        assert "video_submissions" in await response.text()


def test_webhook_url_and_path():
    assert webhook_path("https://bot.example.com") == "/telegram/webhook"
    assert webhook_path("https://bot.example.com/hook/abc") == "/hook/abc"
    assert public_webhook_url("https://bot.example.com/") == "https://bot.example.com/telegram/webhook"
