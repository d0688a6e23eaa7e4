"""Payouts awaiting approval: approve (PROCESS_PAYOUT) or reject with a reason (reservation refunded)."""

from __future__ import annotations

from aiogram import F, Router
from aiogram.filters import Command
from aiogram.fsm.context import FSMContext
from aiogram.types import CallbackQuery, Message

from zenith.bot.callbacks import AdminMenuCb, AdminPayoutCb, AdminSection, Decision
from zenith.bot.handlers.admin.decisions import (
    Card,
    answer_undecidable,
    ask_reason,
    confirm_decision,
    refuse_unless_admin,
    send_queue,
    take_reason,
)
from zenith.bot.handlers.admin.filters import user_label
from zenith.bot.keyboards.admin import payout_decision_keyboard
from zenith.bot.services import BotServices
from zenith.bot.states import AdminDialog
from zenith.i18n import Translator
from zenith.messaging.contract import NOTIFY, PROCESS_PAYOUT
from zenith.storage import audit, ledger, payouts, users

router = Router(name=__name__)

PAGE = 5


async def _send_requested(message: Message, *, i18n: Translator, services: BotServices) -> None:
    async with services.read() as conn:
        waiting = await payouts.list_by_status(conn, status="requested", limit=PAGE)
        owners = {payout.user_id: await users.get(conn, payout.user_id) for payout in waiting}
        money = {user_id: await ledger.balances(conn, user_id) for user_id in owners}
    cards = []
    for payout in waiting:
        owner, balances = owners[payout.user_id], money[payout.user_id]
        text = i18n(
            "admin.payout_card",
            payout_id=payout.id,
            user=user_label(owner),
            tier=i18n(f"tier.name_{owner.tier}"),
            amount=payout.amount_rub,
            asset=payout.asset,
            created=payout.created_at,
            available=balances.available,
            reserved=balances.reserved,
            paid=balances.paid_out,
        )
        cards.append(Card(text=text, keyboard=payout_decision_keyboard(i18n, payout_id=payout.id)))
    header = i18n("admin.payouts_header", shown=len(cards))
    await send_queue(message, i18n=i18n, header=header, cards=cards, empty_key="admin.payouts_empty")


@router.message(Command("payouts"))
async def payouts_command(message: Message, i18n: Translator, services: BotServices) -> None:
    await _send_requested(message, i18n=i18n, services=services)


@router.callback_query(AdminMenuCb.filter(F.section == AdminSection.PAYOUTS))
async def payouts_button(query: CallbackQuery, i18n: Translator, services: BotServices) -> None:
    await query.answer()
    await _send_requested(query.message, i18n=i18n, services=services)


@router.callback_query(AdminPayoutCb.filter(F.action == Decision.APPROVE))
async def approve(query: CallbackQuery, callback_data: AdminPayoutCb, i18n: Translator, is_admin: bool, services: BotServices) -> None:
    if await refuse_unless_admin(query, i18n=i18n, is_admin=is_admin):
        return
    admin_id = query.from_user.id
    try:
        async with services.transaction() as conn:
            payout = await payouts.transition(
                conn, payout_id=callback_data.payout_id, to_status="approved", from_statuses=("requested",), decided_by=admin_id
            )
            if payout is not None:
                await audit.record(conn, admin_id=admin_id, action="payout.approve", target_type="payout", target_id=payout.id)
    except payouts.PayoutNotFound:
        await answer_undecidable(query, i18n=i18n, found=False)
        return
    if payout is None:
        await answer_undecidable(query, i18n=i18n, found=True)
        return
    # the payouts actor converts, sends and tells the creator (notify.payout.approved/paid/failed)
    await services.send(PROCESS_PAYOUT, payout.id)
    await confirm_decision(query, text=i18n("admin.approved_payout", payout_id=payout.id))


@router.callback_query(AdminPayoutCb.filter(F.action == Decision.REJECT))
async def ask_reject_reason(query: CallbackQuery, callback_data: AdminPayoutCb, i18n: Translator, is_admin: bool, services: BotServices, state: FSMContext) -> None:
    if await refuse_unless_admin(query, i18n=i18n, is_admin=is_admin):
        return
    async with services.read() as conn:
        try:
            payout = await payouts.get(conn, callback_data.payout_id)
        except payouts.PayoutNotFound:
            payout = None
    if payout is None or payout.status != "requested":
        await answer_undecidable(query, i18n=i18n, found=payout is not None)
        return
    await ask_reason(query, i18n=i18n, state=state, dialog=AdminDialog.reject_payout_reason, target_id=payout.id)


@router.message(AdminDialog.reject_payout_reason, F.text)
async def reject(message: Message, i18n: Translator, is_admin: bool, services: BotServices, state: FSMContext) -> None:
    if not is_admin:
        return
    rejection = await take_reason(message, state=state)
    # rejecting releases the reservation back to the available balance in the same transaction
    async with services.transaction() as conn:
        payout = await payouts.transition(
            conn,
            payout_id=rejection.target_id,
            to_status="rejected",
            from_statuses=("requested",),
            decided_by=rejection.admin_id,
            decision_reason=rejection.reason,
        )
        if payout is not None:
            await audit.record(
                conn, admin_id=rejection.admin_id, action="payout.reject", target_type="payout", target_id=payout.id, reason=rejection.reason
            )
    if payout is None:
        await message.answer(i18n("admin.already_decided"))
        return
    params = {"payout_id": payout.id, "reason": rejection.reason, "amount": str(payout.amount_rub)}
    await services.send(NOTIFY, payout.user_id, "notify.payout.rejected", params, f"payout:{payout.id}:rejected", None)
    await message.answer(i18n("admin.rejected_payout", payout_id=payout.id))
