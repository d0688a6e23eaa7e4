"""The admin menu."""

from __future__ import annotations

from aiogram import Router
from aiogram.filters import Command
from aiogram.types import Message

from zenith.bot.keyboards.admin import admin_menu_keyboard
from zenith.bot.keyboards.menu import menu_button
from zenith.i18n import Translator

router = Router(name=__name__)


@router.message(Command("admin"))
@router.message(menu_button("menu.admin"))
async def admin_menu(message: Message, i18n: Translator) -> None:
    await message.answer(i18n("admin.menu"), reply_markup=admin_menu_keyboard(i18n))
