"""The sandbox's world: simulated users acting on the bot, and everything the bot did.

Tests (and the control API) act as Telegram users through the ``user_*`` methods, which
queue real Bot API updates, and read the bot's output through ``messages_for``,
``events_for`` and the ``wait_for_*`` helpers. All of it runs on the sandbox's event loop.
"""

from __future__ import annotations

import asyncio
import secrets
import time
from pathlib import Path
from typing import Any, Callable

from zenith.sandbox import SANDBOX_TOKEN
from zenith.sandbox.chats import Chat, ChatEvent, ChatMessage, SimUser
from zenith.sandbox.errors import SandboxUsageError, bad_request, forbidden
from zenith.sandbox.files import FileStore
from zenith.sandbox.limits import FaultPlan, RateLimiter
from zenith.sandbox.update_ids import UpdateIdReservation
from zenith.sandbox.updates import FIRST_UPDATE_ID, UpdateQueue


class SandboxTimeout(AssertionError):
    """A ``wait_for_*`` helper gave up: the expected bot output did not arrive in time."""


class SandboxState:
    """Users, chats, files, updates and recorded bot output of one sandbox.

    Parameters:
      token: the only bot token accepted (default: ``SANDBOX_TOKEN``).
      bot_name / bot_username: what getMe returns.
      state_dir: folder where the next update id is kept, so ids keep increasing across
        restarts as Telegram's do (default: None, numbering starts afresh each time).
    """

    def __init__(
        self,
        *,
        token: str = SANDBOX_TOKEN,
        bot_name: str = "Zenith Sandbox Bot",
        bot_username: str = "zenith_sandbox_bot",
        state_dir: Path | None = None,
    ) -> None:
        bot_id, _, _ = token.partition(":")
        if not bot_id.isdigit():
            raise ValueError("token must look like '<digits>:<secret>'")
        self.token = token
        self.bot_user = {
            "id": int(bot_id),
            "is_bot": True,
            "first_name": bot_name,
            "username": bot_username,
            "can_join_groups": False,
            "can_read_all_group_messages": False,
            "supports_inline_queries": False,
        }
        self.bot_sender = {k: self.bot_user[k] for k in ("id", "is_bot", "first_name", "username")}
        self.chats: dict[int, Chat] = {}
        self.files = FileStore()
        if state_dir is None:
            self.updates = UpdateQueue()
        else:
            reservation = UpdateIdReservation(state_dir, first=FIRST_UPDATE_ID)
            self.updates = UpdateQueue(next_update_id=reservation.start(), reservation=reservation)
        self.rate_limits = RateLimiter()
        self.faults = FaultPlan()
        self.commands: dict[tuple[str, str], list[dict[str, Any]]] = {}
        self.default_menu_button: dict[str, Any] = {"type": "commands"}
        self.callback_answers: dict[str, dict[str, Any] | None] = {}
        self.callback_chats: dict[str, int] = {}
        self.events: list[ChatEvent] = []
        # every Bot API method called, in order ("webhook-reply:<method>" for calls a
        # webhook returned in its HTTP answer)
        self.calls: list[str] = []
        self._changed = asyncio.Event()

    # ----- users -------------------------------------------------------------------

    def add_user(
        self,
        user_id: int,
        *,
        first_name: str | None = None,
        username: str | None = None,
        language_code: str | None = None,
    ) -> SimUser:
        """Register a user (or update the given fields); their private chat opens."""
        chat = self.chats.get(user_id)
        if chat is None:
            chat = self.chats[user_id] = Chat(user=SimUser(id=user_id))
        user = chat.user
        if first_name is not None:
            user.first_name = first_name
        if username is not None:
            user.username = username
        if language_code is not None:
            user.language_code = language_code
        return user

    def chat(self, chat_id: int) -> Chat:
        """The chat the bot addresses; 400 "chat not found" / 403 when blocked."""
        chat = self.chats.get(chat_id)
        if chat is None:
            raise bad_request("chat not found")
        if chat.user.blocked:
            raise forbidden("bot was blocked by the user")
        return chat

    def user_sends_text(
        self,
        user_id: int,
        text: str,
        *,
        first_name: str | None = None,
        language_code: str | None = None,
        username: str | None = None,
    ) -> dict[str, Any]:
        """The user sends ``text``; returns the queued Update (``None`` payload if filtered).

        A leading "/command" gets a ``bot_command`` entity, as Telegram's client adds it.
        """
        user = self.add_user(user_id, first_name=first_name, username=username, language_code=language_code)
        user.blocked = False  # writing to a bot unblocks it
        message = self._user_message(user_id, text=text)
        return self._push("message", self.message_object(message))

    def user_sends_photo(
        self, user_id: int, data: bytes, *, caption: str | None = None, filename: str = "photo.jpg"
    ) -> dict[str, Any]:
        """The user sends a picture (PNG/JPEG/GIF bytes), with an optional caption."""
        self.add_user(user_id)
        stored = self.files.put(data, filename=filename, kind="photos")
        message = self._user_message(user_id, caption=caption)
        message.photo = stored
        return self._push("message", self.message_object(message))

    def user_presses_button(self, user_id: int, message_id: int, callback_data: str) -> dict[str, Any]:
        """The user taps the inline button carrying ``callback_data`` on the bot's message.

        Raises SandboxUsageError if that message has no such button (a real client could
        not press it); use ``user_sends_callback`` to simulate forged data.
        """
        message = self._bot_message(user_id, message_id)
        if callback_data not in message.callback_data():
            raise SandboxUsageError(
                f"message {message_id} has no button with callback_data {callback_data!r}; "
                f"its buttons carry {message.callback_data()!r}"
            )
        return self.user_sends_callback(user_id, message_id, callback_data)

    def user_sends_callback(
        self, user_id: int, message_id: int, data: str, *, inaccessible: bool = False
    ) -> dict[str, Any]:
        """A callback query with arbitrary ``data`` for ``message_id`` (tampering tests).

        ``inaccessible``: the query carries the message as Telegram sends one the bot can no
        longer read or edit (an InaccessibleMessage: its chat, its id and date 0).
        """
        message = self._bot_message(user_id, message_id)
        query_id = str(secrets.randbits(63))
        self.callback_answers[query_id] = None
        self.callback_chats[query_id] = user_id
        query = {
            "id": query_id,
            "from": self.chats[user_id].user.as_user(),
            "message": (
                {"chat": self.chats[user_id].user.as_chat(), "message_id": message_id, "date": 0}
                if inaccessible
                else self.message_object(message)
            ),
            "chat_instance": str(-abs(hash((user_id, self.token))) % 10**18),
            "data": data,
        }
        return self._push("callback_query", query)

    def user_blocks_bot(self, user_id: int) -> None:
        """The user blocks the bot: sends to them fail with 403 from now on."""
        self._member_change(user_id, blocked=True)

    def user_unblocks_bot(self, user_id: int) -> None:
        self._member_change(user_id, blocked=False)

    # ----- reading the bot's output ------------------------------------------------

    def messages_for(self, chat_id: int, *, include_deleted: bool = False) -> list[ChatMessage]:
        """The bot's messages in a chat, oldest first, as they look now (after edits)."""
        chat = self.chats.get(chat_id)
        if chat is None:
            return []
        return [m for m in chat.messages.values() if m.from_bot and (include_deleted or not m.deleted)]

    def events_for(self, chat_id: int, *, after: int = 0) -> list[ChatEvent]:
        """Bot outputs in a chat with ``seq`` greater than ``after``, in order."""
        return [e for e in self.events if e.chat_id == chat_id and e.seq > after]

    def reply_keyboard(self, chat_id: int) -> dict[str, Any] | None:
        """The reply keyboard the user currently sees in that chat, if any."""
        chat = self.chats.get(chat_id)
        return chat.reply_keyboard if chat else None

    async def wait_for_message(
        self,
        chat_id: int,
        *,
        contains: str | None = None,
        predicate: Callable[[ChatMessage], bool] | None = None,
        timeout: float = 10,
        after: int | None = None,
    ) -> ChatMessage:
        """The first bot message in ``chat_id`` newer than ``after`` that matches.

        ``after`` defaults to the user's latest message in that chat, i.e. "the reply to
        what the user just did". ``contains`` checks the text or caption. Raises
        SandboxTimeout listing what did arrive.
        """
        chat = self.chats.get(chat_id)
        floor = after if after is not None else (chat.last_user_message_id if chat else 0)

        def find() -> ChatMessage | None:
            for message in self.messages_for(chat_id):
                if message.message_id > floor and _matches(message, contains, predicate):
                    return message
            return None

        return await self._wait(
            find,
            timeout,
            lambda: (
                f"no bot message in chat {chat_id} after #{floor} "
                f"matching contains={contains!r}; got {self._summary(chat_id)}"
            ),
        )

    async def wait_for_edit(
        self,
        chat_id: int,
        message_id: int,
        *,
        contains: str | None = None,
        predicate: Callable[[ChatMessage], bool] | None = None,
        timeout: float = 10,
    ) -> ChatMessage:
        """The bot's message ``message_id`` once it has been edited and matches."""

        def find() -> ChatMessage | None:
            message = self.chats[chat_id].messages.get(message_id) if chat_id in self.chats else None
            if message is not None and message.history and _matches(message, contains, predicate):
                return message
            return None

        return await self._wait(
            find,
            timeout,
            lambda: (
                f"message {message_id} in chat {chat_id} was not edited "
                f"to match contains={contains!r}; got {self._summary(chat_id)}"
            ),
        )

    async def wait_for_callback_answer(self, callback_query_id: str, *, timeout: float = 10) -> dict[str, Any]:
        """The bot's answerCallbackQuery for that query (text, show_alert, url, cache_time)."""
        return await self._wait(
            lambda: self.callback_answers.get(callback_query_id),
            timeout,
            lambda: f"callback query {callback_query_id} was not answered",
        )

    async def wait_for_events(self, chat_id: int, *, after: int, timeout: float) -> list[ChatEvent]:
        """Events newer than ``after``; waits up to ``timeout`` for the first (may be [])."""
        try:
            return await self._wait(lambda: self.events_for(chat_id, after=after) or None, timeout, str)
        except SandboxTimeout:
            return []

    # ----- recording (used by the Bot API methods) ---------------------------------

    def record(self, kind: str, chat_id: int, message_id: int | None = None, **data: Any) -> ChatEvent:
        seq = self.events[-1].seq + 1 if self.events else 1
        event = ChatEvent(seq=seq, kind=kind, chat_id=chat_id, message_id=message_id, data=data)
        self.events.append(event)
        self.changed()
        return event

    def close(self) -> None:
        """Release every waiting getUpdates call and ``wait_for_*`` helper (server shutdown)."""
        self.updates.closing = True
        self.updates.wake()
        self.changed()

    def changed(self) -> None:
        """Wake the ``wait_for_*`` helpers."""
        self._changed.set()
        self._changed = asyncio.Event()

    def message_object(self, message: ChatMessage) -> dict[str, Any]:
        """The Bot API Message object for a stored message."""
        chat = self.chats[message.chat_id]
        obj: dict[str, Any] = {
            "message_id": message.message_id,
            "date": message.date,
            "chat": chat.user.as_chat(),
            "from": self.bot_sender if message.from_bot else chat.user.as_user(),
        }
        if message.text is not None:
            obj["text"] = message.text
            if message.entities:
                obj["entities"] = message.entities
        if message.photo is not None:
            obj["photo"] = message.photo.photo_sizes()
        if message.photo_url is not None:
            obj["photo"] = [
                {"file_id": f"URL{abs(hash(message.photo_url))}", "file_unique_id": "url", "width": 0, "height": 0}
            ]
        if message.document is not None:
            obj["document"] = message.document.document()
        if message.caption:
            obj["caption"] = message.caption
            if message.caption_entities:
                obj["caption_entities"] = message.caption_entities
        if message.reply_markup and "inline_keyboard" in message.reply_markup:
            obj["reply_markup"] = message.reply_markup
        if message.edit_date is not None:
            obj["edit_date"] = message.edit_date
        return obj

    # ----- internals ---------------------------------------------------------------

    def _user_message(self, user_id: int, **content: Any) -> ChatMessage:
        chat = self.chats[user_id]
        message = ChatMessage(chat_id=user_id, message_id=chat.new_message_id(), from_bot=False, **content)
        if message.text and message.text.startswith("/"):
            command = message.text.split()[0]
            message.entities = [{"type": "bot_command", "offset": 0, "length": len(command.encode("utf-16-le")) // 2}]
        chat.messages[message.message_id] = message
        chat.last_user_message_id = message.message_id
        return message

    def _bot_message(self, user_id: int, message_id: int) -> ChatMessage:
        chat = self.chats.get(user_id)
        message = chat.messages.get(message_id) if chat else None
        if message is None or not message.from_bot or message.deleted:
            raise SandboxUsageError(f"chat {user_id} has no bot message {message_id}")
        return message

    def _member_change(self, user_id: int, *, blocked: bool) -> None:
        user = self.add_user(user_id)
        if user.blocked == blocked:
            return
        user.blocked = blocked
        old, new = ("member", "kicked") if blocked else ("kicked", "member")
        self._push(
            "my_chat_member",
            {
                "chat": user.as_chat(),
                "from": user.as_user(),
                "date": int(time.time()),
                "old_chat_member": {"status": old, "user": self.bot_sender},
                "new_chat_member": {"status": new, "user": self.bot_sender, **({"until_date": 0} if blocked else {})},
            },
        )

    def _push(self, kind: str, payload: dict[str, Any]) -> dict[str, Any]:
        update = self.updates.push(kind, payload)
        self.changed()
        return update if update is not None else {"update_id": None, kind: payload}

    async def _wait(self, find: Callable[[], Any], timeout: float, describe: Callable[[], str]) -> Any:
        deadline = time.monotonic() + timeout
        while True:
            event = self._changed
            found = find()
            if found is not None:
                return found
            remaining = deadline - time.monotonic()
            if remaining <= 0 or self.updates.closing:
                raise SandboxTimeout(describe())
            try:
                await asyncio.wait_for(event.wait(), remaining)
            except asyncio.TimeoutError:
                pass

    def _summary(self, chat_id: int) -> list[str]:
        return [f"#{m.message_id}: {m.content[:60]!r}" for m in self.messages_for(chat_id)]


def _matches(message: ChatMessage, contains: str | None, predicate: Callable[[ChatMessage], bool] | None) -> bool:
    if contains is not None and contains not in message.content:
        return False
    return predicate is None or bool(predicate(message))
