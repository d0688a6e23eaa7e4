"""Expected paths are not errors: a double-tapped button and forged out-of-range
callback data get a calm answer and at most an INFO/WARNING line, never ERROR."""

from __future__ import annotations

import asyncio
import logging

import pytest

from tests.bot.conftest import new_telegram_id
from zenith.bot.callbacks import PAGE_MAX, AdminQueuePageCb, VideoCb, VideosPageCb

NOT_AVAILABLE = {"en": "This button is no longer available.", "ru": "Эта кнопка больше недоступна."}


def _errors(caplog) -> list[logging.LogRecord]:
    return [r for r in caplog.records if r.levelno >= logging.ERROR]


async def test_double_tapped_cancel_is_info_and_the_user_sees_no_error(bot, sandbox, caplog):
    uid = new_telegram_id()
    sandbox.state.user_sends_text(uid, "/accounts", language_code="en")
    listing = await sandbox.state.wait_for_message(uid, contains="No linked accounts")
    sandbox.state.user_presses_button(uid, listing.message_id, "acc:add:tiktok:0")
    ask = await sandbox.state.wait_for_message(uid, contains="Send your TikTok")
    with caplog.at_level(logging.INFO):
        first = sandbox.state.user_presses_button(uid, ask.message_id, "x")
        await sandbox.state.wait_for_callback_answer(first["callback_query"]["id"])
        await sandbox.state.wait_for_message(uid, contains="Cancelled")
        # the client still shows the button until the edit arrives: a second tap on it
        second = sandbox.state.user_sends_callback(uid, ask.message_id, "x")
        answer = await sandbox.state.wait_for_callback_answer(second["callback_query"]["id"])
        await asyncio.sleep(0.3)
    texts = [m.text for m in sandbox.state.messages_for(uid) if m.from_bot]
    assert not any("Something went wrong" in (t or "") for t in texts), texts
    assert sum("Cancelled" in (t or "") for t in texts) == 1
    assert not answer.get("show_alert") and not answer.get("text")
    assert _errors(caplog) == []
    harmless = [r for r in caplog.records if r.name == "zenith.bot.handlers.errors"]
    assert [r.levelno for r in harmless] == [logging.INFO] and "message is not modified" in harmless[0].getMessage()
    assert harmless[0].exc_info is None and "\n" not in harmless[0].getMessage()


@pytest.mark.parametrize("language", ["en", "ru"])
async def test_forged_out_of_range_numbers_are_refused_politely(bot, sandbox, caplog, language):
    uid = new_telegram_id()
    sandbox.state.user_sends_text(uid, "/start", language_code=language)
    menu = await sandbox.state.wait_for_message(uid)
    forged = (
        "vl:99999999999999999999",
        f"vl:{PAGE_MAX + 1}",
        "v:99999999999999999999:0",
        "v:1:99999999999999999999",
        "v:0:0",
        "acc:check:tiktok:9223372036854775808",
        "aq:mod:99999999999999999999",
        "ap:ok:9223372036854775808",
        "au:ban:-1",
    )
    with caplog.at_level(logging.INFO):
        for data in forged:
            update = sandbox.state.user_sends_callback(uid, menu.message_id, data)
            answer = await sandbox.state.wait_for_callback_answer(update["callback_query"]["id"])
            assert answer["show_alert"] and answer["text"] in {
                NOT_AVAILABLE[language],
                "This command is for admins only.",
                "Эта команда только для администраторов.",
            }, (data, answer)
    assert _errors(caplog) == []
    texts = [m.text for m in sandbox.state.messages_for(uid) if m.from_bot]
    assert not any("went wrong" in (t or "") or "пошло не так" in (t or "") for t in texts)
    # the first page of the largest legal numbers still works
    update = sandbox.state.user_sends_callback(uid, menu.message_id, f"vl:{PAGE_MAX}")
    answer = await sandbox.state.wait_for_callback_answer(update["callback_query"]["id"])
    assert answer is not None and _errors(caplog) == []


def test_callback_data_classes_refuse_numbers_postgresql_cannot_hold():
    with pytest.raises(ValueError):
        VideosPageCb.unpack("vl:99999999999999999999")
    with pytest.raises(ValueError):
        VideoCb.unpack("v:9223372036854775808:0")
    with pytest.raises(ValueError):
        AdminQueuePageCb.unpack("aq:pay:-1")
    assert VideoCb.unpack("v:9223372036854775807:3").video_id == 2**63 - 1
    assert VideosPageCb.unpack(f"vl:{PAGE_MAX}").page == PAGE_MAX
