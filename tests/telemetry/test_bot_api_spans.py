"""Bot API calls that bypass aiohttp still end the trace in a CLIENT span shaped like the
aiohttp instrumentation's: "POST", the URL without the token, the status, errors marked."""

from __future__ import annotations

import json

import pytest
from aiogram import Bot
from aiogram.client.telegram import TelegramAPIServer
from aiogram.exceptions import TelegramBadRequest, TelegramNetworkError
from opentelemetry import trace
from opentelemetry.instrumentation.utils import suppress_http_instrumentation
from opentelemetry.trace import SpanKind, StatusCode

from tests.fakes.raw_http import RawServer, answer
from zenith.platforms.telegram_session import FastSession
from zenith.telemetry import http_spans
from zenith.telemetry.tracing import tracer

TOKEN = "42:secret-token"


async def bot_api(body: bytes, writer) -> bool | None:
    text = json.loads(body)["text"]
    if text == "cut":
        writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 50\r\n\r\n{")
        return False
    if text == "refuse":
        writer.write(
            b"HTTP/1.1 400 Bad Request\r\nContent-Type: application/json\r\nContent-Length: 62\r\n\r\n"
            b'{"ok": false, "error_code": 400, "description": "Bad Request"}'
        )
        return None
    message = {"message_id": 1, "date": 1, "chat": {"id": 5, "type": "private"}, "text": text}
    writer.write(answer(json.dumps({"ok": True, "result": message}).encode()))
    return None


async def test_each_call_is_a_client_span_in_the_callers_trace(pipeline_spans):
    async with RawServer(bot_api) as server:
        bot = Bot(TOKEN, session=FastSession(api=TelegramAPIServer.from_base(server.origin)))
        try:
            with tracer().start_as_current_span("process notifications") as parent:
                await bot.send_message(5, "fine")
                with pytest.raises(TelegramBadRequest):
                    await bot.send_message(5, "refuse")
                with pytest.raises(TelegramNetworkError):
                    await bot.send_message(5, "cut")
            with suppress_http_instrumentation():
                await bot.send_message(5, "quiet")
        finally:
            await bot.session.close()
    calls = [s for s in pipeline_spans.get_finished_spans() if s.kind == SpanKind.CLIENT]
    assert [s.name for s in calls] == ["POST", "POST", "POST"]  # the suppressed call has none
    for span in calls:
        assert span.parent.span_id == parent.get_span_context().span_id
        assert span.context.trace_id == parent.get_span_context().trace_id
        assert span.attributes["http.method"] == "POST"
        assert span.attributes["http.url"] == f"{server.origin}/bot***/sendMessage"  # no token
    fine, refused, cut = calls
    assert fine.attributes["http.status_code"] == 200 and fine.status.status_code is StatusCode.UNSET
    assert refused.attributes["http.status_code"] == 400 and refused.status.status_code is StatusCode.ERROR
    assert "http.status_code" not in cut.attributes and cut.status.status_code is StatusCode.ERROR
    assert [e.name for e in cut.events] == ["exception"]
    assert not trace.get_current_span().is_recording()


async def test_no_span_and_no_cost_when_tracing_is_off():
    async with RawServer(bot_api) as server:
        bot = Bot(TOKEN, session=FastSession(api=TelegramAPIServer.from_base(server.origin)))
        try:
            assert (await bot.send_message(5, "fine")).text == "fine"
        finally:
            await bot.session.close()
    assert http_spans.client_call("POST", "http://x/bot1:a/getMe").span is None
