"""The main menu (reply keyboard) and the filter that recognises its buttons in any language."""

from __future__ import annotations

from aiogram.types import KeyboardButton, ReplyKeyboardMarkup

from zenith.bot.filters import TextIn
from zenith.i18n import SUPPORTED_LANGUAGES, Translator, get_translator

MENU_ROWS: tuple[tuple[str, ...], ...] = (
    ("menu.submit", "menu.videos", "menu.campaigns"),
    ("menu.balance", "menu.withdraw"),
    ("menu.accounts", "menu.tier"),
    ("menu.help", "menu.language"),
)


def main_menu(i18n: Translator, *, is_admin: bool = False) -> ReplyKeyboardMarkup:
    """The persistent reply keyboard; admins get one more row with the admin panel."""
    rows = [[KeyboardButton(text=i18n(key)) for key in row] for row in MENU_ROWS]
    if is_admin:
        rows.append([KeyboardButton(text=i18n("menu.admin"))])
    return ReplyKeyboardMarkup(
        keyboard=rows, resize_keyboard=True, is_persistent=True, input_field_placeholder=i18n("menu.placeholder")
    )


def button_texts(key: str) -> frozenset[str]:
    """The text of a menu button in every language (a user may switch language mid-chat)."""
    return frozenset(get_translator(language)(key) for language in SUPPORTED_LANGUAGES)


def menu_button(key: str) -> TextIn:
    """A message filter matching the menu button `key` in any language."""
    return TextIn(button_texts(key))
