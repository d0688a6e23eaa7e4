"""The Bot API session: calls without files go as JSON bodies, uploads as multipart, errors as aiogram's."""

from __future__ import annotations

import asyncio
import json
import socket
from datetime import datetime, timezone

import pytest
from aiogram import Bot
from aiogram.client.default import DefaultBotProperties
from aiogram.client.telegram import TelegramAPIServer
from aiogram.exceptions import ClientDecodeError, TelegramBadRequest, TelegramNetworkError, TelegramRetryAfter
from aiogram.methods import AnswerCallbackQuery, BanChatMember, EditMessageText, SendMessage
from aiogram.types import BufferedInputFile, InlineKeyboardButton, InlineKeyboardMarkup
from aiohttp import web

from tests.fakes.raw_http import RawServer, answer
from zenith.platforms.telegram_session import FastSession

TOKEN = "42:test-token"


def _message(text: str = "") -> dict:
    return {"message_id": 7, "date": 1_700_000_000, "chat": {"id": 5, "type": "private"}, "text": text}


@pytest.fixture
async def bot_api():
    """A Bot API stand-in on a free port: records each call's method, content type and body."""
    calls: list[dict] = []

    async def handle(request: web.Request) -> web.Response:
        method = request.match_info["method"]
        body = await request.read()
        calls.append({"method": method, "content_type": request.content_type, "body": body})
        if method == "sendMessage" and json.loads(body).get("text") == "refuse me":
            return web.json_response(
                {"ok": False, "error_code": 400, "description": "Bad Request: chat not found"}, status=400
            )
        return web.json_response({"ok": True, "result": _message()})

    app = web.Application()
    app.router.add_post(f"/bot{TOKEN}/{{method}}", handle)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    bot = Bot(TOKEN, session=FastSession(api=TelegramAPIServer.from_base(f"http://127.0.0.1:{port}")))
    yield bot, calls
    await bot.session.close()
    await runner.cleanup()


async def test_a_call_without_files_is_a_json_body_with_native_values(bot_api):
    bot, calls = bot_api
    keyboard = InlineKeyboardMarkup(inline_keyboard=[[InlineKeyboardButton(text="Да", callback_data="yes:1")]])

    sent = await bot.send_message(5, "Баланс: 1 300,00 ₽ & more", reply_markup=keyboard, disable_notification=False)

    assert sent.message_id == 7 and sent.chat.id == 5  # the answer is validated as aiogram does
    (call,) = calls
    assert call["method"] == "sendMessage" and call["content_type"] == "application/json"
    body = json.loads(call["body"])
    assert body["chat_id"] == 5 and body["text"] == "Баланс: 1 300,00 ₽ & more"
    assert body["reply_markup"] == {"inline_keyboard": [[{"text": "Да", "callback_data": "yes:1"}]]}
    assert body["disable_notification"] is False  # False is a value, not an absent one
    assert "reply_parameters" not in body and "message_thread_id" not in body  # absent ones are left out


async def test_an_upload_goes_as_multipart(bot_api):
    bot, calls = bot_api
    await bot.send_document(5, BufferedInputFile(b"a,b\n1,2\n", filename="report.csv"), caption="report")
    (call,) = calls
    assert call["method"] == "sendDocument" and call["content_type"] == "multipart/form-data"
    assert b'filename="report.csv"' in call["body"] and b"a,b\n1,2\n" in call["body"]


async def test_a_refusal_is_aiograms_error_for_it(bot_api):
    bot, _ = bot_api
    with pytest.raises(TelegramBadRequest, match="chat not found"):
        await bot.send_message(5, "refuse me")


async def test_an_unreachable_server_is_a_network_error():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    bot = Bot(TOKEN, session=FastSession(api=TelegramAPIServer.from_base(f"http://127.0.0.1:{port}")))
    try:
        with pytest.raises(TelegramNetworkError):
            await bot.send_message(5, "hello")
    finally:
        await bot.session.close()


async def test_calls_share_keep_alive_connections_and_answers_are_validated():
    async def ok(body: bytes, writer) -> None:
        writer.write(answer(json.dumps({"ok": True, "result": _message(json.loads(body)["text"])}).encode()))

    async with RawServer(ok) as server:
        bot = Bot(TOKEN, session=FastSession(api=TelegramAPIServer.from_base(server.origin)))
        try:
            sent = [await bot.send_message(5, f"n{i}") for i in range(20)]
        finally:
            await bot.session.close()
    assert [m.text for m in sent] == [f"n{i}" for i in range(20)] and sent[0].chat.id == 5
    assert server.connections == 1


async def test_a_timeout_or_a_broken_answer_is_aiograms_network_error():
    async def misbehave(body: bytes, writer) -> bool | None:
        text = json.loads(body)["text"]
        if text == "slow":
            await asyncio.sleep(1)
        if text == "cut":
            writer.write(b'HTTP/1.1 200 OK\r\nContent-Length: 50\r\n\r\n{"ok": tr')
            return False
        writer.write(answer(json.dumps({"ok": True, "result": _message(text)}).encode()))
        return None

    async with RawServer(misbehave) as server:
        bot = Bot(TOKEN, session=FastSession(api=TelegramAPIServer.from_base(server.origin), timeout=0.2))
        try:
            with pytest.raises(TelegramNetworkError, match="Request timeout error"):
                await bot.send_message(5, "slow")
            with pytest.raises(TelegramNetworkError, match="closed the connection before the whole answer"):
                await bot.send_message(5, "cut")
            assert (await bot.send_message(5, "fine")).text == "fine"
        finally:
            await bot.session.close()


async def test_answers_are_checked_as_aiogram_checks_them_and_sent_styling_is_not_read_back():
    async def respond(body: bytes, writer) -> None:
        text = json.loads(body)["text"]
        if text == "garbage":
            writer.write(answer(b"<html>502 Bad Gateway</html>"))
        elif text == "wrong shape":
            writer.write(answer(json.dumps({"ok": True, "result": {"message_id": "seven"}}).encode()))
        elif text == "flood":
            refusal = {
                "ok": False,
                "error_code": 429,
                "description": "Too Many Requests",
                "parameters": {"retry_after": 3},
            }
            writer.write(answer(json.dumps(refusal).encode()))  # a 200 that says no is still a no
        else:
            bold = [{"type": "bold", "offset": 0, "length": 4}]
            message = {**_message(text), "entities": bold, "caption_entities": bold}
            writer.write(answer(json.dumps({"ok": True, "result": message}).encode()))

    async with RawServer(respond) as server:
        bot = Bot(TOKEN, session=FastSession(api=TelegramAPIServer.from_base(server.origin)))
        try:
            sent = await bot.send_message(5, "<b>Help</b> text", parse_mode="HTML")
            assert (sent.message_id, sent.chat.id, sent.text) == (7, 5, "<b>Help</b> text")
            assert sent.entities is None and sent.caption_entities is None
            with pytest.raises(ClientDecodeError, match="Failed to decode object"):
                await bot.send_message(5, "garbage")
            with pytest.raises(ClientDecodeError, match="Failed to deserialize object"):
                await bot.send_message(5, "wrong shape")
            with pytest.raises(TelegramRetryAfter) as refused:
                await bot.send_message(5, "flood")
            assert refused.value.retry_after == 3
        finally:
            await bot.session.close()


def test_a_body_is_the_same_whether_pydantic_dumps_the_call_or_not():
    # the reference: every field through model_dump, as the session did before plain calls skipped it
    session = FastSession()
    bot = Bot(TOKEN, session=session, default=DefaultBotProperties(parse_mode="HTML", protect_content=True))

    def dumped(method) -> dict:
        files: dict = {}
        prepared = {
            k: session.prepare_value(v, bot=bot, files=files, _dumps_json=False)
            for k, v in method.model_dump(warnings=False).items()
        }
        return {k: v for k, v in prepared.items() if v is not None and v != ""}

    keyboard = InlineKeyboardMarkup(inline_keyboard=[[InlineKeyboardButton(text="Да", callback_data="yes:1")]])
    calls = [
        SendMessage(chat_id=5, text="Баланс <b>1 300,00</b>"),  # parse_mode and protect_content from the defaults
        SendMessage(chat_id=5, text="", parse_mode=None, disable_notification=False),
        SendMessage(chat_id=5, text="k", reply_markup=keyboard, message_thread_id=0),
        EditMessageText(chat_id=5, message_id=9, text="edited", reply_markup=keyboard),
        AnswerCallbackQuery(callback_query_id="q", text="busy", show_alert=True, cache_time=0),
        BanChatMember(chat_id=5, user_id=3, until_date=datetime(2030, 1, 1, tzinfo=timezone.utc)),
        SendMessage(chat_id=5, text="x", future_field="kept"),  # a field aiogram does not know yet
    ]
    for method in calls:
        assert json.loads(session.json_body(bot, method)) == dumped(method), method
    assert json.loads(session.json_body(bot, calls[0]))["parse_mode"] == "HTML"
