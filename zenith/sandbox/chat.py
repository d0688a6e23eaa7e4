"""``zenith chat``: talk to the bot from a terminal, as a Telegram user of the sandbox.

Each input line is sent as the user's message; the bot's messages print as they arrive,
with inline buttons numbered. Commands: ``:press N`` presses button N of the latest
message that has buttons, ``:quit`` exits. Works with piped stdin: after each line it
waits for the bot's output to settle before reading the next, and exits at end of input.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import time
from typing import Any, TextIO

from aiohttp import ClientError, ClientSession, ClientTimeout

from zenith.config import get_settings

FIRST_REPLY_SECONDS = 5.0  # how long to wait for the bot to start answering a line
SETTLE_SECONDS = 0.4  # quiet time after which the answer is taken as complete


class ChatError(Exception):
    """The sandbox refused an action or could not be reached."""


class ChatClient:
    """One user's conversation through the sandbox's control API.

    Parameters:
      base_url: the sandbox, e.g. "http://127.0.0.1:8081".
      user_id / name / language: who the user is on Telegram.
      out: where to print (default stdout).
    """

    def __init__(
        self, session: ClientSession, *, base_url: str, user_id: int, name: str, language: str, out: TextIO = sys.stdout
    ) -> None:
        self.session = session
        self.base_url = base_url.rstrip("/")
        self.user_id = user_id
        self.name = name
        self.language = language
        self.out = out
        self.seq = 0
        self.buttons: list[dict[str, Any]] = []
        self.buttons_message_id: int | None = None
        self.events_seen = 0
        self.last_event_at = 0.0

    async def api(self, method: str, path: str, body: dict[str, Any] | None = None, **query: Any) -> Any:
        try:
            async with self.session.request(method, f"{self.base_url}{path}", json=body, params=query) as resp:
                payload = await resp.json()
        except (ClientError, asyncio.TimeoutError, ValueError) as exc:
            raise ChatError(
                f"cannot reach the sandbox at {self.base_url} ({type(exc).__name__}); "
                "is `zenith sandbox` or `zenith up` running?"
            ) from exc
        if not payload.get("ok"):
            raise ChatError(payload.get("description", "request failed"))
        return payload["result"]

    async def skip_history(self) -> None:
        events = await self.api("GET", f"/sandbox/chats/{self.user_id}/events", after=0, timeout=0)
        self.seq = events[-1]["seq"] if events else 0

    async def follow(self) -> None:
        """Print the bot's output forever (run as a task)."""
        while True:
            events = await self.api("GET", f"/sandbox/chats/{self.user_id}/events", after=self.seq, timeout=20)
            for event in events:
                self.seq = event["seq"]
                self.show(event)
                self.events_seen += 1
                self.last_event_at = time.monotonic()

    async def settle(self) -> None:
        """Wait until the bot has answered (or stayed silent for FIRST_REPLY_SECONDS)."""
        seen = self.events_seen
        deadline = time.monotonic() + FIRST_REPLY_SECONDS
        while time.monotonic() < deadline and self.events_seen == seen:
            await asyncio.sleep(0.05)
        while self.events_seen != seen and time.monotonic() - self.last_event_at < SETTLE_SECONDS:
            await asyncio.sleep(0.05)

    async def handle(self, line: str) -> bool:
        """Act on one input line; False means quit."""
        text = line.strip()
        if text in (":quit", ":q"):
            return False
        if text.startswith(":press"):
            if not await self.press(text.removeprefix(":press").strip()):
                return True
        elif text:
            await self.api(
                "POST",
                f"/sandbox/users/{self.user_id}/send",
                {"text": text, "first_name": self.name, "language_code": self.language},
            )
        else:
            return True
        await self.settle()
        return True

    async def press(self, number: str) -> bool:
        """Press button ``number`` (1-based); False if there is no such callback button."""
        if not number.isdigit() or not 1 <= int(number) <= len(self.buttons):
            self.print(f"(no button {number or '?'}; the latest message has {len(self.buttons)} buttons)")
            return False
        button = self.buttons[int(number) - 1]
        if "callback_data" not in button:
            self.print(f"(button {number} opens {button.get('url', 'something else')}, nothing to press)")
            return False
        await self.api(
            "POST",
            f"/sandbox/users/{self.user_id}/press",
            {"message_id": self.buttons_message_id, "callback_data": button["callback_data"]},
        )
        return True

    def show(self, event: dict[str, Any]) -> None:
        kind = event["kind"]
        if kind in ("message", "edit"):
            message = event["message"]
            label = "bot" if kind == "message" else f"bot (edited #{message['message_id']})"
            body = message.get("text") or message.get("caption") or ""
            if "photo" in message:
                body = f"[photo {message['photo']['size']} bytes] {body}".rstrip()
            if "document" in message:
                body = f"[document {message['document']['file_name']}, {message['document']['size']} bytes] {body}"
            self.print(f"{label}: {body}")
            self.show_buttons(message)
            keyboard = event.get("reply_keyboard")
            if keyboard and "keyboard" in keyboard:
                rows = [
                    " ".join(f"[{b['text'] if isinstance(b, dict) else b}]" for b in row)
                    for row in keyboard["keyboard"]
                ]
                self.print("  keyboard: " + " / ".join(rows))
            elif keyboard:
                self.print("  (keyboard removed)")
        elif kind == "delete":
            self.print(f"(bot deleted message #{event['message_id']})")
        elif kind == "callback_answer" and event.get("text"):
            self.print(f"bot ({'alert' if event.get('show_alert') else 'notice'}): {event['text']}")

    def show_buttons(self, message: dict[str, Any]) -> None:
        markup = message.get("reply_markup") or {}
        buttons = [b for row in markup.get("inline_keyboard", []) for b in row]
        if buttons:
            self.buttons, self.buttons_message_id = buttons, message["message_id"]
            self.print("  " + "  ".join(f"[{i}] {b['text']}" for i, b in enumerate(buttons, 1)))
        elif message["message_id"] == self.buttons_message_id:
            self.buttons, self.buttons_message_id = [], None

    def print(self, text: str) -> None:
        print(text, file=self.out, flush=True)


async def chat(*, base_url: str, user_id: int, name: str, language: str) -> int:
    timeout = ClientTimeout(total=30)
    async with ClientSession(timeout=timeout) as session:
        client = ChatClient(session, base_url=base_url, user_id=user_id, name=name, language=language)
        try:
            await client.skip_history()
        except ChatError as exc:
            print(f"zenith chat: {exc}", file=sys.stderr)
            return 1
        if sys.stdin.isatty():
            client.print(f"Chatting as {name} (id {user_id}). :press N presses a button, :quit exits.")
        follower = asyncio.create_task(client.follow())
        loop = asyncio.get_running_loop()
        try:
            while True:
                line = await loop.run_in_executor(None, sys.stdin.readline)
                if follower.done():
                    follower.result()  # raises the ChatError that stopped it
                if not line or not await client.handle(line):
                    break
        except ChatError as exc:
            print(f"zenith chat: {exc}", file=sys.stderr)
            return 1
        finally:
            follower.cancel()
    return 0


def run_chat(args: argparse.Namespace) -> int:
    """Chat with the bot through the sandbox on 127.0.0.1:SANDBOX_PORT."""
    settings = get_settings()
    return asyncio.run(
        chat(
            base_url=f"http://127.0.0.1:{settings.sandbox_port}",
            user_id=args.user_id,
            name=args.name,
            language=args.language,
        )
    )
