"""Bot API methods: each takes the state and the call's parameters and returns the
``result`` the real API would, or raises ApiError with the real API's description.

Method names are case-insensitive, as on Telegram; ``METHODS`` maps lower-case names.
"""

from __future__ import annotations

import re
import time
from typing import Any, Awaitable, Callable

from zenith.sandbox.chats import ChatMessage
from zenith.sandbox.errors import METHOD_NOT_FOUND, bad_request
from zenith.sandbox.files import StoredFile
from zenith.sandbox.formatting import format_text
from zenith.sandbox.markup import check_reply_markup
from zenith.sandbox.params import Params, Upload
from zenith.sandbox.state import SandboxState
from zenith.sandbox.updates import WebhookConfig

Method = Callable[[SandboxState, Params], Awaitable[Any]]
METHODS: dict[str, Method] = {}
# Methods that put something in a chat count against the flood limits.
SENDING = frozenset(
    {"sendmessage", "sendphoto", "senddocument", "editmessagetext", "editmessagecaption", "editmessagereplymarkup"}
)
CHAT_ACTIONS = frozenset(
    {
        "typing",
        "upload_photo",
        "record_video",
        "upload_video",
        "record_voice",
        "upload_voice",
        "upload_document",
        "choose_sticker",
        "find_location",
        "record_video_note",
        "upload_video_note",
    }
)
_COMMAND = re.compile(r"^[a-z0-9_]{1,32}$")
_SECRET = re.compile(r"^[A-Za-z0-9_-]{1,256}$")
NOT_MODIFIED = (
    "message is not modified: specified new message content and reply markup are exactly the same "
    "as a current content and reply markup of the message"
)


def api_method(name: str) -> Callable[[Method], Method]:
    def register(func: Method) -> Method:
        METHODS[name.lower()] = func
        return func

    return register


@api_method("getMe")
async def get_me(state: SandboxState, params: Params) -> Any:
    return state.bot_user


@api_method("getUpdates")
async def get_updates(state: SandboxState, params: Params) -> Any:
    state.updates.set_allowed(params.json("allowed_updates"))
    return await state.updates.get_updates(
        offset=params.int("offset"), limit=params.int("limit", default=100), timeout=params.int("timeout", default=0)
    )


@api_method("setWebhook")
async def set_webhook(state: SandboxState, params: Params) -> Any:
    url = params.str("url", default="") or ""
    if not url:
        return await delete_webhook(state, params)
    if not url.startswith(("http://", "https://")):
        raise bad_request("bad webhook: An HTTPS URL must be provided for webhook")
    secret = params.str("secret_token")
    if secret is not None and not _SECRET.match(secret):
        raise bad_request("secret token contains unallowed characters")
    if params.bool("drop_pending_updates"):
        state.updates.drop_pending()
    state.updates.set_allowed(params.json("allowed_updates"))
    state.updates.webhook = WebhookConfig(
        url=url, secret_token=secret, max_connections=params.int("max_connections", default=40)
    )
    state.updates.wake()
    return True


@api_method("deleteWebhook")
async def delete_webhook(state: SandboxState, params: Params) -> Any:
    state.updates.webhook = None
    if params.bool("drop_pending_updates"):
        state.updates.drop_pending()
    state.updates.wake()
    return True


@api_method("getWebhookInfo")
async def get_webhook_info(state: SandboxState, params: Params) -> Any:
    queue = state.updates
    if queue.webhook is None:
        return {"url": "", "has_custom_certificate": False, "pending_update_count": len(queue.pending)}
    return queue.webhook.info(pending=len(queue.pending), allowed_updates=queue.allowed_updates)


@api_method("sendMessage")
async def send_message(state: SandboxState, params: Params) -> Any:
    chat = state.chat(params.chat_id())
    formatted = format_text(params.str("text"), parse_mode=params.str("parse_mode"), entities=params.json("entities"))
    message = _new_bot_message(
        state, chat.user.id, params, text=formatted.text, entities=formatted.entities, source=params.str("text")
    )
    return state.message_object(message)


@api_method("sendPhoto")
async def send_photo(state: SandboxState, params: Params) -> Any:
    chat = state.chat(params.chat_id())
    photo = params.input_file("photo")
    if photo is None:
        raise bad_request("there is no photo in the request")
    caption = _caption(params)
    fields: dict[str, Any] = {}
    if isinstance(photo, Upload):
        fields["photo"] = state.files.put(photo.data, filename=photo.filename, kind="photos")
    elif photo.startswith(("http://", "https://")):
        fields["photo_url"] = photo
    else:
        fields["photo"] = _existing(state, photo)
    message = _new_bot_message(
        state,
        chat.user.id,
        params,
        caption=caption.text or None,
        caption_entities=caption.entities,
        source=params.str("caption"),
        **fields,
    )
    return state.message_object(message)


@api_method("sendDocument")
async def send_document(state: SandboxState, params: Params) -> Any:
    chat = state.chat(params.chat_id())
    document = params.input_file("document")
    if document is None:
        raise bad_request("there is no document in the request")
    if isinstance(document, Upload):
        stored = state.files.put(document.data, filename=document.filename, kind="documents")
    else:
        stored = _existing(state, document)
    caption = _caption(params)
    message = _new_bot_message(
        state,
        chat.user.id,
        params,
        document=stored,
        caption=caption.text or None,
        caption_entities=caption.entities,
        source=params.str("caption"),
    )
    return state.message_object(message)


@api_method("getFile")
async def get_file(state: SandboxState, params: Params) -> Any:
    return state.files.get(params.str("file_id", required=True) or "").file_object()


@api_method("editMessageText")
async def edit_message_text(state: SandboxState, params: Params) -> Any:
    message = _editable(state, params)
    if message.text is None:
        raise bad_request("there is no text in the message to edit")
    formatted = format_text(params.str("text"), parse_mode=params.str("parse_mode"), entities=params.json("entities"))
    markup = check_reply_markup(params.json("reply_markup"))
    if formatted.text == message.text and formatted.entities == message.entities and markup == message.reply_markup:
        raise bad_request(NOT_MODIFIED)
    return _apply_edit(
        state, message, text=formatted.text, entities=formatted.entities, source=params.str("text"), reply_markup=markup
    )


@api_method("editMessageCaption")
async def edit_message_caption(state: SandboxState, params: Params) -> Any:
    message = _editable(state, params)
    if message.text is not None:
        raise bad_request("there is no caption in the message to edit")
    caption = _caption(params)
    markup = check_reply_markup(params.json("reply_markup"))
    if (caption.text or None) == message.caption and markup == message.reply_markup:
        raise bad_request(NOT_MODIFIED)
    return _apply_edit(
        state,
        message,
        caption=caption.text or None,
        caption_entities=caption.entities,
        source=params.str("caption"),
        reply_markup=markup,
    )


@api_method("editMessageReplyMarkup")
async def edit_message_reply_markup(state: SandboxState, params: Params) -> Any:
    message = _editable(state, params)
    markup = check_reply_markup(params.json("reply_markup"))
    if markup == message.reply_markup:
        raise bad_request(NOT_MODIFIED)
    return _apply_edit(state, message, reply_markup=markup)


@api_method("deleteMessage")
async def delete_message(state: SandboxState, params: Params) -> Any:
    chat = state.chat(params.chat_id())
    message = chat.messages.get(params.int("message_id", required=True) or 0)
    if message is None or message.deleted:
        raise bad_request("message to delete not found")
    message.deleted = True
    state.record("delete", chat.user.id, message.message_id)
    return True


@api_method("answerCallbackQuery")
async def answer_callback_query(state: SandboxState, params: Params) -> Any:
    query_id = params.str("callback_query_id", required=True) or ""
    if query_id not in state.callback_answers or state.callback_answers[query_id] is not None:
        raise bad_request("query is too old and response timeout expired or query ID is invalid")
    text = params.str("text")
    if text is not None and len(text) > 200:
        raise bad_request("MESSAGE_TOO_LONG")
    answer = {
        "text": text,
        "show_alert": params.bool("show_alert"),
        "url": params.str("url"),
        "cache_time": params.int("cache_time", default=0),
    }
    state.callback_answers[query_id] = answer
    chat_id = _callback_chat(state, query_id)
    state.record("callback_answer", chat_id, None, callback_query_id=query_id, **answer)
    return True


@api_method("sendChatAction")
async def send_chat_action(state: SandboxState, params: Params) -> Any:
    chat = state.chat(params.chat_id())
    action = params.str("action", required=True)
    if action not in CHAT_ACTIONS:
        raise bad_request("wrong parameter action in request")
    state.record("chat_action", chat.user.id, None, action=action)
    return True


@api_method("getChat")
async def get_chat(state: SandboxState, params: Params) -> Any:
    chat = state.chats.get(params.chat_id())
    if chat is None:
        raise bad_request("chat not found")
    return {
        **chat.user.as_chat(),
        "accent_color_id": 0,
        "max_reaction_count": 11,
        "accepted_gift_types": {
            "unlimited_gifts": True,
            "limited_gifts": True,
            "unique_gifts": True,
            "premium_subscription": True,
            "gifts_from_channels": True,
        },
    }


@api_method("setMyCommands")
async def set_my_commands(state: SandboxState, params: Params) -> Any:
    commands = params.json("commands")
    if not isinstance(commands, list) or len(commands) > 100:
        raise bad_request("can't parse commands JSON object")
    for command in commands:
        if not isinstance(command, dict) or not _COMMAND.match(str(command.get("command", "")).lstrip("/")):
            raise bad_request("BOT_COMMAND_INVALID")
        if not 1 <= len(str(command.get("description", ""))) <= 256:
            raise bad_request("command description must be non-empty")
    clean = [{"command": c["command"].lstrip("/"), "description": c["description"]} for c in commands]
    state.commands[_command_key(params)] = clean
    return True


@api_method("getMyCommands")
async def get_my_commands(state: SandboxState, params: Params) -> Any:
    return state.commands.get(_command_key(params), [])


@api_method("deleteMyCommands")
async def delete_my_commands(state: SandboxState, params: Params) -> Any:
    state.commands.pop(_command_key(params), None)
    return True


@api_method("setChatMenuButton")
async def set_chat_menu_button(state: SandboxState, params: Params) -> Any:
    button = params.json("menu_button") or {"type": "default"}
    if not isinstance(button, dict) or button.get("type") not in {"commands", "web_app", "default"}:
        raise bad_request("can't parse menu button JSON object")
    if params.has("chat_id"):
        state.chat(params.chat_id()).menu_button = button
    else:
        state.default_menu_button = button
    return True


@api_method("getChatMenuButton")
async def get_chat_menu_button(state: SandboxState, params: Params) -> Any:
    if params.has("chat_id"):
        return state.chat(params.chat_id()).menu_button or state.default_menu_button
    return state.default_menu_button


@api_method("close")
async def close(state: SandboxState, params: Params) -> Any:
    return True


@api_method("logOut")
async def log_out(state: SandboxState, params: Params) -> Any:
    return True


# ----- helpers -----------------------------------------------------------------------


def _new_bot_message(state: SandboxState, chat_id: int, params: Params, **content: Any) -> ChatMessage:
    chat = state.chats[chat_id]
    markup = check_reply_markup(params.json("reply_markup"))
    message = ChatMessage(
        chat_id=chat_id, message_id=chat.new_message_id(), from_bot=True, parse_mode=params.str("parse_mode"), **content
    )
    if markup and "inline_keyboard" in markup:
        message.reply_markup = markup
    elif markup and "keyboard" in markup:
        chat.reply_keyboard = markup
    elif markup and markup.get("remove_keyboard"):
        chat.reply_keyboard = None
    chat.messages[message.message_id] = message
    extra = {"reply_keyboard": markup} if markup and ("keyboard" in markup or markup.get("remove_keyboard")) else {}
    state.record("message", chat_id, message.message_id, message=message.as_json(), **extra)
    return message


def _caption(params: Params):
    return format_text(
        params.str("caption"),
        parse_mode=params.str("parse_mode"),
        entities=params.json("caption_entities"),
        caption=True,
    )


def _existing(state: SandboxState, file_id: str) -> StoredFile:
    return state.files.get(file_id)


def _editable(state: SandboxState, params: Params) -> ChatMessage:
    if params.has("inline_message_id"):
        raise bad_request("MESSAGE_ID_INVALID")
    chat = state.chat(params.chat_id())
    message = chat.messages.get(params.int("message_id", required=True) or 0)
    if message is None or message.deleted:
        raise bad_request("message to edit not found")
    if not message.from_bot:
        raise bad_request("message can't be edited")
    return message


def _apply_edit(state: SandboxState, message: ChatMessage, **changes: Any) -> Any:
    message.history.append(message.snapshot())
    for name, value in changes.items():
        setattr(message, name, value)
    message.edit_date = max(message.date + 1, int(time.time()))
    state.record("edit", message.chat_id, message.message_id, message=message.as_json())
    return state.message_object(message)


def _callback_chat(state: SandboxState, query_id: str) -> int:
    return state.callback_chats[query_id]


def _command_key(params: Params) -> tuple[str, str]:
    scope = params.json("scope") or {"type": "default"}
    return (str(scope.get("type", "default")) + ":" + str(scope.get("chat_id", "")), params.str("language_code") or "")


async def execute(state: SandboxState, name: str, params: Params) -> Any:
    """Run Bot API method ``name`` (any case); 404 for unknown methods, 429 over the
    flood limits. Used for HTTP calls and for methods a webhook returns in its reply."""
    method = METHODS.get(name.lower())
    if method is None:
        raise METHOD_NOT_FOUND
    if name.lower() in SENDING and state.rate_limits.enabled:
        state.rate_limits.check(params.chat_id())
    return await method(state, params)
