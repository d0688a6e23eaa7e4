"""The steps shared by admin decisions on videos and payouts: queue, approve, ask a reason, reject.

Both queues work the same way: cards with Approve / Reject, approval at once, rejection
after the admin types a reason (kept in the FSM state with the target id). What differs
-- the storage call, the audit action, what the creator is told -- stays in
`moderation.py` and `payouts.py`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

from aiogram.fsm.context import FSMContext
from aiogram.fsm.state import State
from aiogram.types import CallbackQuery, InlineKeyboardMarkup, Message

from zenith.bot.keyboards.inline import cancel_keyboard
from zenith.i18n import Translator

# the creator sees the reason; keep it a sentence, not an essay
MAX_REASON_LENGTH = 500


@dataclass(frozen=True)
class Card:
    text: str
    keyboard: InlineKeyboardMarkup


async def send_queue(message: Message, *, i18n: Translator, header: str, cards: Sequence[Card], empty_key: str) -> None:
    """The header and one message per card (each with its own buttons), or `empty_key`."""
    if not cards:
        await message.answer(i18n(empty_key))
        return
    await message.answer(header)
    for card in cards:
        await message.answer(card.text, reply_markup=card.keyboard, disable_web_page_preview=True)


async def refuse_unless_admin(query: CallbackQuery, *, i18n: Translator, is_admin: bool) -> bool:
    """True (and the press answered) when the presser is not an admin."""
    if not is_admin:
        await query.answer(i18n("admin.refused"), show_alert=True)
    return not is_admin


async def answer_undecidable(query: CallbackQuery, *, i18n: Translator, found: bool) -> None:
    """The target vanished (forged id) or someone decided it first."""
    await query.answer(i18n("admin.already_decided" if found else "common.not_available"), show_alert=True)


async def confirm_decision(query: CallbackQuery, *, text: str) -> None:
    """Close the card's buttons and say what was done."""
    await query.answer()
    await query.message.edit_reply_markup(reply_markup=None)
    await query.message.answer(text)


async def ask_reason(query: CallbackQuery, *, i18n: Translator, state: FSMContext, dialog: State, target_id: int) -> None:
    """Wait for the rejection reason of `target_id` in the FSM state `dialog`."""
    await state.set_state(dialog)
    await state.update_data(target_id=target_id)
    await query.answer()
    await query.message.answer(i18n("admin.ask_reason", max=MAX_REASON_LENGTH), reply_markup=cancel_keyboard(i18n))


@dataclass(frozen=True)
class Rejection:
    target_id: int
    reason: str
    admin_id: int


async def take_reason(message: Message, *, state: FSMContext) -> Rejection:
    """The target id and the typed reason (trimmed to MAX_REASON_LENGTH); leaves the dialog."""
    target_id = int((await state.get_data()).get("target_id", 0))
    await state.clear()
    return Rejection(target_id=target_id, reason=(message.text or "").strip()[:MAX_REASON_LENGTH], admin_id=message.from_user.id)
