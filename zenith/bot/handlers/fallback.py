"""Whatever no other handler took: stale or forged buttons, stickers, unknown text."""

from __future__ import annotations

from aiogram import Router
from aiogram.types import CallbackQuery, Message

from zenith.i18n import Translator

router = Router(name=__name__)


@router.callback_query()
async def unknown_button(query: CallbackQuery, i18n: Translator) -> None:
    # forged, garbage or outdated callback data: say so, change nothing
    await query.answer(i18n("common.not_available"), show_alert=True)


@router.message()
async def unknown_message(message: Message, i18n: Translator) -> None:
    await message.answer(i18n("common.unknown"))
