"""What the sandbox remembers about users, their private chats and the messages in them."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

from zenith.sandbox.files import StoredFile
from zenith.sandbox.markup import inline_buttons


@dataclass
class SimUser:
    """A simulated Telegram user; their private chat with the bot has the same id."""

    id: int
    first_name: str = "User"
    username: str | None = None
    language_code: str | None = "en"
    blocked: bool = False

    def as_user(self) -> dict[str, Any]:
        user: dict[str, Any] = {"id": self.id, "is_bot": False, "first_name": self.first_name}
        if self.username:
            user["username"] = self.username
        if self.language_code:
            user["language_code"] = self.language_code
        return user

    def as_chat(self) -> dict[str, Any]:
        chat: dict[str, Any] = {"id": self.id, "type": "private", "first_name": self.first_name}
        if self.username:
            chat["username"] = self.username
        return chat


@dataclass
class ChatMessage:
    """A message in a private chat, sent by the bot (``from_bot``) or by the user.

    ``text``/``caption`` are what the user sees (HTML already applied); ``source`` is what
    the bot sent with its ``parse_mode``; ``history`` holds earlier versions after edits.
    """

    chat_id: int
    message_id: int
    from_bot: bool
    date: int = field(default_factory=lambda: int(time.time()))
    text: str | None = None
    entities: list[dict[str, Any]] = field(default_factory=list)
    caption: str | None = None
    caption_entities: list[dict[str, Any]] = field(default_factory=list)
    source: str | None = None
    parse_mode: str | None = None
    reply_markup: dict[str, Any] | None = None
    photo: StoredFile | None = None
    photo_url: str | None = None
    document: StoredFile | None = None
    edit_date: int | None = None
    history: list[dict[str, Any]] = field(default_factory=list)
    deleted: bool = False

    @property
    def content(self) -> str:
        """Text or caption, whichever the message has ("" for neither)."""
        return self.text if self.text is not None else (self.caption or "")

    def buttons(self) -> list[dict[str, Any]]:
        """Inline buttons, row by row."""
        return inline_buttons(self.reply_markup)

    def callback_data(self) -> list[str]:
        return [b["callback_data"] for b in self.buttons() if "callback_data" in b]

    def snapshot(self) -> dict[str, Any]:
        """The visible content, kept in ``history`` before an edit."""
        return {
            "text": self.text,
            "caption": self.caption,
            "reply_markup": self.reply_markup,
            "edit_date": self.edit_date,
        }

    def as_json(self) -> dict[str, Any]:
        """Plain JSON for the control API and the chat client."""
        out: dict[str, Any] = {
            "chat_id": self.chat_id,
            "message_id": self.message_id,
            "from_bot": self.from_bot,
            "date": self.date,
            "text": self.text,
            "caption": self.caption,
            "reply_markup": self.reply_markup,
            "edit_date": self.edit_date,
            "deleted": self.deleted,
        }
        if self.photo is not None:
            out["photo"] = {
                "file_id": self.photo.file_id,
                "size": self.photo.size,
                "width": self.photo.width,
                "height": self.photo.height,
            }
        if self.photo_url is not None:
            out["photo"] = {"url": self.photo_url, "size": 0}
        if self.document is not None:
            out["document"] = {
                "file_id": self.document.file_id,
                "size": self.document.size,
                "file_name": self.document.filename,
            }
        return out


@dataclass(frozen=True)
class ChatEvent:
    """One bot output in a chat, in order: kind is "message", "edit", "delete",
    "callback_answer" or "chat_action"; ``seq`` increases over the whole sandbox."""

    seq: int
    kind: str
    chat_id: int
    message_id: int | None = None
    data: dict[str, Any] = field(default_factory=dict)

    def as_json(self) -> dict[str, Any]:
        return {"seq": self.seq, "kind": self.kind, "chat_id": self.chat_id, "message_id": self.message_id, **self.data}


@dataclass
class Chat:
    """A private chat: its messages by id and the next id (shared by both sides)."""

    user: SimUser
    messages: dict[int, ChatMessage] = field(default_factory=dict)
    next_message_id: int = 1
    last_user_message_id: int = 0
    reply_keyboard: dict[str, Any] | None = None
    menu_button: dict[str, Any] | None = None

    def new_message_id(self) -> int:
        message_id = self.next_message_id
        self.next_message_id += 1
        return message_id
