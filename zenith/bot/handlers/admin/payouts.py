"""Payouts awaiting approval: approve (PROCESS_PAYOUT) or reject with a reason (reservation refunded)."""

from __future__ import annotations

from typing import Any

import psycopg
from aiogram import F, Router
from aiogram.filters import Command
from aiogram.fsm.context import FSMContext
from aiogram.types import CallbackQuery, Message

from zenith.bot import pressed
from zenith.bot.callbacks import AdminMenuCb, AdminPayoutCb, AdminQueue, AdminQueuePageCb, AdminSection, Decision
from zenith.bot.filters import HasText
from zenith.bot.handlers.admin.decisions import (
    Card,
    DecisionKind,
    approve_target,
    finish_rejection,
    read_queue_page,
    send_queue,
    start_rejection,
    turn_queue_page,
)
from zenith.bot.handlers.admin.filters import user_label
from zenith.bot.keyboards.admin import payout_decision_keyboard
from zenith.bot.services import BotServices
from zenith.bot.states import AdminDialog
from zenith.domain.payouts import PayoutStatus
from zenith.i18n import Translator
from zenith.messaging.contract import PROCESS_PAYOUT
from zenith.storage import audit, ledger, payouts, users
from zenith.storage.users import User
from zenith.telemetry.subject import tag_payout

router = Router(name=__name__)


async def _oldest_requested(conn: psycopg.AsyncConnection[Any], *, limit: int) -> list[payouts.Payout]:
    return await payouts.list_by_status(conn, status=PayoutStatus.REQUESTED, limit=limit)


async def _count_requested(conn: psycopg.AsyncConnection[Any]) -> int:
    return await payouts.count_by_status(conn, status=PayoutStatus.REQUESTED)


async def _send_requested(
    message: pressed.ChatMessage, *, i18n: Translator, services: BotServices, page: int = 0
) -> None:
    async with services.read() as conn:
        shown = await read_queue_page(conn, oldest=_oldest_requested, count=_count_requested, page=page)
        waiting = shown.items
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
    await send_queue(
        message,
        i18n=i18n,
        queue=AdminQueue.PAYOUTS,
        shown=shown,
        cards=cards,
        header_key="admin.payouts_header",
        empty_key="admin.payouts_empty",
    )


@router.message(Command("payouts"))
async def payouts_command(message: Message, i18n: Translator, services: BotServices) -> None:
    await _send_requested(message, i18n=i18n, services=services)


@router.callback_query(AdminMenuCb.filter(F.section == AdminSection.PAYOUTS))
async def payouts_button(query: CallbackQuery, i18n: Translator, services: BotServices) -> None:
    message = await pressed.reply_target(query, i18n)
    if message is None:
        return
    await query.answer()
    await _send_requested(message, i18n=i18n, services=services)


@router.callback_query(AdminQueuePageCb.filter(F.queue == AdminQueue.PAYOUTS))
async def payouts_page(
    query: CallbackQuery, callback_data: AdminQueuePageCb, i18n: Translator, is_admin: bool, services: BotServices
) -> None:
    message = await turn_queue_page(query, i18n=i18n, is_admin=is_admin)
    if message is not None:
        await _send_requested(message, i18n=i18n, services=services, page=callback_data.page)


async def _approve(conn: psycopg.AsyncConnection[Any], payout_id: int, admin_id: int) -> payouts.Payout | None:
    payout = await payouts.transition(
        conn,
        payout_id=payout_id,
        to_status=PayoutStatus.APPROVED,
        from_statuses=(PayoutStatus.REQUESTED,),
        decided_by=admin_id,
    )
    if payout is not None:
        await audit.record(conn, admin_id=admin_id, action="payout.approve", target_type="payout", target_id=payout.id)
    return payout


async def _reject(
    conn: psycopg.AsyncConnection[Any], payout_id: int, admin_id: int, reason: str
) -> payouts.Payout | None:
    # rejecting releases the reservation back to the available balance in the same transaction
    payout = await payouts.transition(
        conn,
        payout_id=payout_id,
        to_status=PayoutStatus.REJECTED,
        from_statuses=(PayoutStatus.REQUESTED,),
        decided_by=admin_id,
        decision_reason=reason,
    )
    if payout is not None:
        await audit.record(
            conn, admin_id=admin_id, action="payout.reject", target_type="payout", target_id=payout.id, reason=reason
        )
    return payout


async def _after_approve(services: BotServices, payout: payouts.Payout) -> None:
    # the payouts actor converts, sends and tells the creator (notify.payout.approved/paid/failed)
    await services.send(PROCESS_PAYOUT, payout.id)


def _rejected_notice(payout: payouts.Payout, reason: str) -> dict[str, Any]:
    params = {"payout_id": payout.id, "reason": reason, "amount": str(payout.amount_rub)}
    return {
        "user_id": payout.user_id,
        "key": "notify.payout.rejected",
        "params": params,
        "dedup_key": f"payout:{payout.id}:rejected",
    }


PAYOUT = DecisionKind(
    dialog=AdminDialog.reject_payout_reason,
    load=payouts.get,
    missing=payouts.PayoutNotFound,
    pending=lambda payout: payout.status == PayoutStatus.REQUESTED,
    approve=_approve,
    reject=_reject,
    tag=lambda payout: tag_payout(payout.id),
    approved_notice=lambda payout: None,  # the payouts actor tells the creator (outbox, with 'sending')
    rejected_notice=_rejected_notice,
    after_approve=_after_approve,
    approved_key="admin.approved_payout",
    rejected_key="admin.rejected_payout",
    id_param="payout_id",
)


@router.callback_query(AdminPayoutCb.filter(F.action == Decision.APPROVE))
async def approve(
    query: CallbackQuery, callback_data: AdminPayoutCb, i18n: Translator, is_admin: bool, services: BotServices
) -> None:
    await approve_target(
        query, kind=PAYOUT, target_id=callback_data.payout_id, i18n=i18n, is_admin=is_admin, services=services
    )


@router.callback_query(AdminPayoutCb.filter(F.action == Decision.REJECT))
async def ask_reject_reason(
    query: CallbackQuery,
    callback_data: AdminPayoutCb,
    i18n: Translator,
    is_admin: bool,
    services: BotServices,
    state: FSMContext,
) -> None:
    await start_rejection(
        query,
        kind=PAYOUT,
        target_id=callback_data.payout_id,
        i18n=i18n,
        is_admin=is_admin,
        services=services,
        state=state,
    )


@router.message(AdminDialog.reject_payout_reason, HasText())
async def reject(
    message: Message, user: User, i18n: Translator, is_admin: bool, services: BotServices, state: FSMContext
) -> None:
    await finish_rejection(
        message, kind=PAYOUT, admin=user, i18n=i18n, is_admin=is_admin, services=services, state=state
    )
