"""A real aiogram Dispatcher + Bot, long-polling the sandbox over HTTP."""

from __future__ import annotations

import pytest
from aiogram.exceptions import (
    TelegramBadRequest,
    TelegramForbiddenError,
    TelegramNetworkError,
    TelegramRetryAfter,
    TelegramServerError,
)
from aiogram.types import BufferedInputFile, InlineKeyboardButton, InlineKeyboardMarkup

from tests.sandbox.echo_bot import PHOTO
from zenith.sandbox.errors import SandboxUsageError

USER = 1001


async def test_start_button_edit_and_photo(sandbox, echo_bot):
    state = sandbox.state
    state.user_sends_text(USER, "/start", first_name="Anna", language_code="ru")

    greeting = await state.wait_for_message(USER, contains="Hello")
    assert greeting.text == "Hello, Anna!"
    assert greeting.entities == [{"type": "bold", "offset": 7, "length": 4}]
    assert greeting.callback_data() == ["like:1", "photo"]
    assert state.reply_keyboard(USER)["keyboard"][0][0]["text"] == "Help"

    update = state.user_presses_button(USER, greeting.message_id, "like:1")
    answer = await state.wait_for_callback_answer(update["callback_query"]["id"])
    assert answer["text"] == "Liked!"
    edited = await state.wait_for_edit(USER, greeting.message_id, contains="You liked it")
    assert edited.reply_markup is None  # editing without reply_markup removes the keyboard
    assert edited.history[0]["text"] == "Hello, Anna!"


async def test_photo_upload_arrives_with_its_bytes(sandbox, echo_bot):
    state = sandbox.state
    state.user_sends_text(USER, "/start")
    greeting = await state.wait_for_message(USER, contains="Hello")
    state.user_presses_button(USER, greeting.message_id, "photo")
    photo = await state.wait_for_message(USER, predicate=lambda m: m.photo is not None)
    assert photo.photo.data == PHOTO
    assert (photo.photo.width, photo.photo.height) == (3, 2)
    assert photo.caption == "Your chart"

    # the bot can fetch it back the way aiogram downloads files
    file = await echo_bot.get_file(photo.photo.file_id)
    downloaded = await echo_bot.download_file(file.file_path)
    assert downloaded.read() == PHOTO


async def test_text_echo_and_forged_callback(sandbox, echo_bot):
    state = sandbox.state
    state.user_sends_text(USER, "hello there")
    assert (await state.wait_for_message(USER, contains="echo:")).text == "echo: hello there"

    state.user_sends_text(USER, "/start")
    greeting = await state.wait_for_message(USER, contains="Hello")
    with pytest.raises(SandboxUsageError):
        state.user_presses_button(USER, greeting.message_id, "like:999")
    update = state.user_sends_callback(USER, greeting.message_id, "admin:pay:1")
    answer = await state.wait_for_callback_answer(update["callback_query"]["id"])
    assert answer == {"text": "Unknown button", "show_alert": True, "url": None, "cache_time": 0}


async def test_flood_limit_is_telegram_retry_after(sandbox, bot):
    state = sandbox.state
    state.add_user(USER)
    state.rate_limits.configure(per_chat=1)
    await bot.send_message(USER, "first")
    with pytest.raises(TelegramRetryAfter) as caught:
        await bot.send_message(USER, "second")
    assert caught.value.retry_after >= 1
    assert "Too Many Requests: retry after" in caught.value.message
    assert [m.text for m in state.messages_for(USER)] == ["first"]

    state.rate_limits.configure()
    state.faults.fail_next("sendMessage", kind="429", retry_after=7)
    with pytest.raises(TelegramRetryAfter) as caught:
        await bot.send_message(USER, "third")
    assert caught.value.retry_after == 7


async def test_blocked_user_is_forbidden(sandbox, bot):
    state = sandbox.state
    state.user_sends_text(USER, "hi")
    state.user_blocks_bot(USER)
    with pytest.raises(TelegramForbiddenError, match="bot was blocked by the user"):
        await bot.send_message(USER, "news")
    updates = await bot.get_updates(timeout=0)
    assert updates[-1].my_chat_member.new_chat_member.status == "kicked"


async def test_validation_errors_match_telegram(sandbox, bot):
    state = sandbox.state
    state.add_user(USER)
    cases = [
        (dict(chat_id=USER, text=" "), "message text is empty"),
        (dict(chat_id=USER, text="x" * 4097), "message is too long"),
        (dict(chat_id=424242, text="hi"), "chat not found"),
        (dict(chat_id=USER, text="<b>bold", parse_mode="HTML"), "Can't find end tag"),
        (dict(chat_id=USER, text="<blink>x</blink>", parse_mode="HTML"), 'Unsupported start tag "blink"'),
        (dict(chat_id=USER, text="1.5", parse_mode="MarkdownV2"), "Character '.' is reserved"),
        (
            dict(
                chat_id=USER,
                text="hi",
                reply_markup=InlineKeyboardMarkup(
                    inline_keyboard=[[InlineKeyboardButton(text="x", callback_data="d" * 65)]]
                ),
            ),
            "BUTTON_DATA_INVALID",
        ),
    ]
    for kwargs, description in cases:
        with pytest.raises(TelegramBadRequest, match=description):
            await bot.send_message(**kwargs)
    await bot.send_message(USER, "x" * 4096)  # exactly the limit is fine
    sent = await bot.send_message(USER, "same")
    with pytest.raises(TelegramBadRequest, match="message is not modified"):
        await bot.edit_message_text("same", chat_id=USER, message_id=sent.message_id)
    with pytest.raises(TelegramBadRequest, match="IMAGE_PROCESS_FAILED"):
        await bot.send_photo(USER, BufferedInputFile(b"not an image", filename="x.png"))


async def test_scripted_server_errors_and_drops(sandbox, bot):
    state = sandbox.state
    state.add_user(USER)
    state.faults.fail_next("sendMessage", kind="500")
    with pytest.raises(TelegramServerError):
        await bot.send_message(USER, "a")
    state.faults.fail_next("sendMessage", kind="drop")
    with pytest.raises(TelegramNetworkError):
        await bot.send_message(USER, "b")
    assert state.messages_for(USER) == []
    # "drop_after": the message is delivered but the client never hears so
    state.faults.fail_next("sendMessage", kind="drop_after")
    with pytest.raises(TelegramNetworkError):
        await bot.send_message(USER, "c")
    assert [m.text for m in state.messages_for(USER)] == ["c"]
    await bot.send_message(USER, "d")
    assert [m.text for m in state.messages_for(USER)] == ["c", "d"]


async def test_commands_menu_chat_and_actions(sandbox, bot):
    from aiogram.types import BotCommand, MenuButtonCommands

    state = sandbox.state
    state.user_sends_text(USER, "hi", first_name="Bo", username="bo_user")
    await bot.set_my_commands([BotCommand(command="start", description="Start")], language_code="en")
    assert [c.command for c in await bot.get_my_commands(language_code="en")] == ["start"]
    assert await bot.get_my_commands() == []
    await bot.delete_my_commands(language_code="en")
    assert await bot.get_my_commands(language_code="en") == []
    assert await bot.set_chat_menu_button(chat_id=USER, menu_button=MenuButtonCommands())
    chat = await bot.get_chat(USER)
    assert (chat.first_name, chat.username, chat.type) == ("Bo", "bo_user", "private")
    assert await bot.send_chat_action(USER, "typing")
    sent = await bot.send_message(USER, "to delete")
    assert await bot.delete_message(USER, sent.message_id)
    with pytest.raises(TelegramBadRequest, match="message to delete not found"):
        await bot.delete_message(USER, sent.message_id)
    kinds = [e.kind for e in state.events_for(USER)]
    assert kinds == ["chat_action", "message", "delete"]
    assert sent.message_id == 2  # ids are shared with the user's message in the chat
