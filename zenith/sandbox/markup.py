"""Checking reply markup (keyboards) the way Telegram does."""

from __future__ import annotations

from typing import Any

from zenith.sandbox.errors import bad_request

_INLINE_ACTIONS = (
    "callback_data",
    "url",
    "web_app",
    "login_url",
    "switch_inline_query",
    "switch_inline_query_current_chat",
    "switch_inline_query_chosen_chat",
    "copy_text",
    "callback_game",
    "pay",
)
MAX_CALLBACK_DATA_BYTES = 64


def check_reply_markup(markup: Any) -> dict[str, Any] | None:
    """Validate a reply_markup object and return it (``None`` when absent)."""
    if markup is None:
        return None
    if not isinstance(markup, dict):
        raise bad_request("can't parse reply keyboard markup JSON object")
    if "inline_keyboard" in markup:
        _check_inline(markup["inline_keyboard"])
    elif "keyboard" in markup:
        rows = markup["keyboard"]
        if not isinstance(rows, list) or not all(isinstance(r, list) for r in rows):
            raise bad_request('field "keyboard" must be an Array')
        for row in rows:
            for button in row:
                text = button.get("text") if isinstance(button, dict) else button
                if not isinstance(text, str) or not text:
                    raise bad_request("BUTTON_TEXT_EMPTY" if isinstance(text, str) else "can't parse keyboard button")
    elif not markup.get("remove_keyboard") and not markup.get("force_reply"):
        raise bad_request("can't parse reply keyboard markup JSON object")
    return markup


def _check_inline(rows: Any) -> None:
    if not isinstance(rows, list) or not all(isinstance(r, list) for r in rows):
        raise bad_request('field "inline_keyboard" of the InlineKeyboardMarkup must be an Array of Arrays')
    for row in rows:
        for button in row:
            if not isinstance(button, dict) or not isinstance(button.get("text"), str):
                raise bad_request(
                    "can't parse inline keyboard button: Text buttons are unallowed in the inline keyboard"
                )
            if not button["text"]:
                raise bad_request("BUTTON_TEXT_EMPTY")
            actions = [a for a in _INLINE_ACTIONS if a in button]
            if len(actions) != 1:
                raise bad_request(
                    "can't parse inline keyboard button: InlineKeyboardButton must have exactly one of the optional fields"
                )
            if "callback_data" in button:
                data = button["callback_data"]
                if not isinstance(data, str) or not data or len(data.encode()) > MAX_CALLBACK_DATA_BYTES:
                    raise bad_request("BUTTON_DATA_INVALID")
            if "url" in button:
                url = button["url"]
                if not isinstance(url, str) or not url.startswith(("http://", "https://", "tg://")):
                    raise bad_request("BUTTON_URL_INVALID")


def inline_buttons(markup: dict[str, Any] | None) -> list[dict[str, Any]]:
    """All inline buttons of a markup, row by row (empty for other markups)."""
    if not markup or "inline_keyboard" not in markup:
        return []
    return [button for row in markup["inline_keyboard"] for button in row]
