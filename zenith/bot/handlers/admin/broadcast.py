"""Broadcast: the admin writes a text, confirms it, and BROADCAST fans it out to every active user."""

from __future__ import annotations

from aiogram import F, Router
from aiogram.filters import Command
from aiogram.fsm.context import FSMContext
from aiogram.types import CallbackQuery, Message

from zenith.bot import nonces, pressed
from zenith.bot.callbacks import AdminMenuCb, AdminSection, BroadcastCb
from zenith.bot.filters import HasText
from zenith.bot.keyboards.inline import cancel_keyboard, confirm_keyboard
from zenith.bot.services import BotServices
from zenith.bot.states import AdminDialog
from zenith.i18n import Translator
from zenith.messaging.contract import BROADCAST
from zenith.storage import audit

router = Router(name=__name__)

# the text is HTML-escaped on delivery; stay well below Telegram's 4096 characters
MAX_BROADCAST_LENGTH = 3500


@router.message(Command("broadcast"))
@router.callback_query(AdminMenuCb.filter(F.section == AdminSection.BROADCAST))
async def ask_text(event: Message | CallbackQuery, i18n: Translator, state: FSMContext) -> None:
    message = event if isinstance(event, Message) else await pressed.reply_target(event, i18n)
    if message is None:
        return
    await state.set_state(AdminDialog.broadcast_text)
    if isinstance(event, CallbackQuery):
        await event.answer()
    await message.answer(i18n("admin.ask_broadcast", max=MAX_BROADCAST_LENGTH), reply_markup=cancel_keyboard(i18n))


@router.message(AdminDialog.broadcast_text, HasText())
async def preview(message: Message, i18n: Translator, state: FSMContext) -> None:
    text = (message.text or "").strip()
    if not text or len(text) > MAX_BROADCAST_LENGTH:
        await message.answer(
            i18n("admin.broadcast_too_long", length=len(text), max=MAX_BROADCAST_LENGTH),
            reply_markup=cancel_keyboard(i18n),
        )
        return
    nonce = nonces.new_nonce()
    await state.set_state(AdminDialog.broadcast_confirm)
    await state.update_data(text=text, nonce=nonce)
    await message.answer(
        i18n("admin.broadcast_confirm", text=text),
        reply_markup=confirm_keyboard(i18n, nonce=nonce, confirm_cb=BroadcastCb),
    )


@router.callback_query(AdminDialog.broadcast_confirm, BroadcastCb.filter())
async def send_broadcast(
    query: CallbackQuery,
    callback_data: BroadcastCb,
    i18n: Translator,
    is_admin: bool,
    services: BotServices,
    state: FSMContext,
) -> None:
    data = await state.get_data()
    if not is_admin or not nonces.matches(data.get("nonce"), callback_data.nonce):
        await query.answer(i18n("common.not_available"), show_alert=True)
        return
    message = await pressed.editable_message(query, i18n)
    if message is None:
        return
    await state.clear()
    # the nonce makes the id: a double tap or a resend fans out once (dedup keys derive from it)
    broadcast_id = f"bc-{query.from_user.id}-{callback_data.nonce}"
    text = str(data["text"])
    async with services.transaction() as conn:
        await audit.record(
            conn,
            admin_id=query.from_user.id,
            action="broadcast.send",
            target_type="broadcast",
            target_id=broadcast_id,
            details={"length": len(text)},
        )
    await services.send(BROADCAST, broadcast_id, text)
    await query.answer()
    await message.edit_reply_markup(reply_markup=None)
    await message.answer(i18n("admin.broadcast_sent", broadcast_id=broadcast_id))
