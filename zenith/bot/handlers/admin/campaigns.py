"""Campaigns for admins: the list with status and spend, each campaign's card, and its
status changes -- open, pause, resume, close (asked to confirm).

Every change is decided under the campaign's row lock (``storage.campaign_life``), so a
double tap or two admins change it once; it is audited in the same transaction, and the
members' notices it staged are published after the commit (the clock relays any lost).
"""

from __future__ import annotations

from datetime import datetime, timezone

from aiogram import F, Router
from aiogram.filters import Command
from aiogram.fsm.context import FSMContext
from aiogram.types import CallbackQuery, Message

from zenith.bot import nonces
from zenith.bot.callbacks import (
    AdminCampaignCb,
    AdminCampaignConfirmCb,
    AdminCampaignPageCb,
    AdminMenuCb,
    AdminSection,
    CampaignAction,
)
from zenith.bot.handlers.admin.campaign_views import card_text, list_line
from zenith.bot.handlers.admin.decisions import close_buttons, refuse_unless_admin
from zenith.bot.keyboards.campaigns_admin import (
    campaign_card_keyboard,
    campaign_confirm_keyboard,
    campaign_list_keyboard,
)
from zenith.bot.pressed import editable_message
from zenith.bot.services import BotServices
from zenith.bot.states import CampaignClose
from zenith.domain.campaign_admin import AdminAction, OpenRefusal
from zenith.i18n import Translator
from zenith.messaging import notices
from zenith.storage import audit, campaign_life, campaigns, ledger

router = Router(name=__name__)

PAGE_SIZE = 8


async def send_list(message: Message, *, i18n: Translator, services: BotServices, page: int = 0) -> None:
    """One page of campaigns, newest first: a line each with status and spend, a button each."""
    async with services.read() as conn:
        total = await campaign_life.count(conn)
        pages = max(1, -(-total // PAGE_SIZE))
        page = min(max(page, 0), pages - 1)
        shown = await campaign_life.list_page(conn, offset=page * PAGE_SIZE, limit=PAGE_SIZE)
        spends = [await campaigns.spend(conn, campaign.id) for campaign in shown]
    lines = [list_line(i18n, campaign, spend) for campaign, spend in zip(shown, spends, strict=True)]
    text = "\n".join([i18n("campaigns.admin.list_header", total=total), "", *lines])
    if pages > 1:
        text += "\n\n" + i18n("common.page", page=page + 1, pages=pages)
    entries = [(campaign.id, f"#{campaign.id} {campaign.name}"[:60]) for campaign in shown]
    await message.answer(text, reply_markup=campaign_list_keyboard(i18n, entries=entries, page=page, pages=pages))


async def send_card(message: Message, campaign_id: int, *, i18n: Translator, services: BotServices) -> bool:
    """The campaign's card with its buttons; False if there is no such campaign."""
    async with services.read() as conn:
        try:
            campaign = await campaigns.get(conn, campaign_id)
        except campaigns.CampaignNotFound:
            return False
        spend = await campaigns.spend(conn, campaign_id)
    await message.answer(
        card_text(i18n, campaign, spend),
        reply_markup=campaign_card_keyboard(
            i18n, campaign_id=campaign.id, status=campaign.status, budgeted=campaign.budgeted
        ),
        disable_web_page_preview=True,
    )
    return True


@router.message(Command("admin_campaigns"))
async def campaigns_command(message: Message, i18n: Translator, services: BotServices) -> None:
    await send_list(message, i18n=i18n, services=services)


@router.callback_query(AdminMenuCb.filter(F.section == AdminSection.CAMPAIGNS))
async def campaigns_button(query: CallbackQuery, i18n: Translator, services: BotServices) -> None:
    message = await editable_message(query, i18n)
    if message is None:
        return
    await query.answer()
    await send_list(message, i18n=i18n, services=services)


@router.callback_query(AdminCampaignPageCb.filter())
async def campaigns_page(
    query: CallbackQuery, callback_data: AdminCampaignPageCb, i18n: Translator, is_admin: bool, services: BotServices
) -> None:
    if await refuse_unless_admin(query, i18n=i18n, is_admin=is_admin):
        return
    message = await editable_message(query, i18n)
    if message is None:
        return
    await query.answer()
    await close_buttons(message)
    await send_list(message, i18n=i18n, services=services, page=callback_data.page)


@router.callback_query(AdminCampaignCb.filter(F.action == CampaignAction.SHOW))
async def show_card(
    query: CallbackQuery, callback_data: AdminCampaignCb, i18n: Translator, is_admin: bool, services: BotServices
) -> None:
    if await refuse_unless_admin(query, i18n=i18n, is_admin=is_admin):
        return
    message = await editable_message(query, i18n)
    if message is None:
        return
    if not await send_card(message, callback_data.campaign_id, i18n=i18n, services=services):
        await query.answer(i18n("common.not_available"), show_alert=True)
        return
    await query.answer()


_DONE = {
    AdminAction.OPEN: "campaigns.admin.opened",
    AdminAction.PAUSE: "campaigns.admin.paused",
    AdminAction.RESUME: "campaigns.admin.resumed",
}
_REFUSED = {
    OpenRefusal.NO_BUDGET: "campaigns.admin.refused_no_budget",
    OpenRefusal.ENDED: "campaigns.admin.refused_ended",
}


async def change_status(
    message: Message,
    *,
    campaign_id: int,
    action: AdminAction,
    event: str,
    admin_id: int,
    i18n: Translator,
    services: BotServices,
) -> None:
    """Apply ``action`` (audited with the change), publish the members' notices, say what happened."""
    try:
        async with services.transaction() as conn:
            change = await campaign_life.apply_action(
                conn, campaign_id=campaign_id, action=action, now=datetime.now(timezone.utc), event=event
            )
            if change.changed:
                await audit.record(
                    conn,
                    admin_id=admin_id,
                    action=f"campaign.{action.value}",
                    target_type="campaign",
                    target_id=campaign_id,
                    details={"returned": str(change.returned)} if action is AdminAction.CLOSE else None,
                )
    except campaigns.CampaignNotFound:
        await message.answer(i18n("common.not_available"))
        return
    await notices.publish(change.staged, send=notices.notify_sender(services.send), connect=services.read)
    campaign = change.campaign
    if change.refusal is not None:
        await message.answer(i18n(_REFUSED[change.refusal], name=campaign.name))
    elif not change.changed:
        await message.answer(
            i18n(
                "campaigns.admin.stale",
                name=campaign.name,
                status=i18n(f"campaigns.admin.status_{campaign.status.value}"),
            )
        )
    elif action is AdminAction.CLOSE:
        await message.answer(i18n("campaigns.admin.closed", name=campaign.name, returned=change.returned))
    else:
        await message.answer(i18n(_DONE[action], name=campaign.name))
    if change.changed:
        await send_card(message, campaign_id, i18n=i18n, services=services)


@router.callback_query(
    AdminCampaignCb.filter(F.action.in_({CampaignAction.OPEN, CampaignAction.PAUSE, CampaignAction.RESUME}))
)
async def open_pause_resume(
    query: CallbackQuery, callback_data: AdminCampaignCb, i18n: Translator, is_admin: bool, services: BotServices
) -> None:
    if await refuse_unless_admin(query, i18n=i18n, is_admin=is_admin):
        return
    message = await editable_message(query, i18n)
    if message is None:
        return
    await query.answer()  # the card keeps its buttons: a stale press is told so under the lock
    action = AdminAction(callback_data.action.value)
    # a campaign opens from draft once; every resume is news again (the press's id names it)
    event = "opened" if action is AdminAction.OPEN else f"{action.value}:{query.id}"
    await change_status(
        message,
        campaign_id=callback_data.campaign_id,
        action=action,
        event=event,
        admin_id=query.from_user.id,
        i18n=i18n,
        services=services,
    )


@router.callback_query(AdminCampaignCb.filter(F.action == CampaignAction.CLOSE))
async def ask_close(
    query: CallbackQuery,
    callback_data: AdminCampaignCb,
    i18n: Translator,
    is_admin: bool,
    services: BotServices,
    state: FSMContext,
) -> None:
    if await refuse_unless_admin(query, i18n=i18n, is_admin=is_admin):
        return
    message = await editable_message(query, i18n)
    if message is None:
        return
    async with services.read() as conn:
        try:
            campaign = await campaigns.get(conn, callback_data.campaign_id)
        except campaigns.CampaignNotFound:
            await query.answer(i18n("common.not_available"), show_alert=True)
            return
        remaining = await ledger.account_balance(conn, ledger.budget_account(campaign.id))
    nonce = nonces.new_nonce()
    await state.set_state(CampaignClose.confirm)
    await state.update_data(campaign_id=campaign.id, nonce=nonce)
    await query.answer()
    await message.answer(
        i18n("campaigns.admin.confirm_close", name=campaign.name, remaining=remaining),
        reply_markup=campaign_confirm_keyboard(i18n, nonce=nonce),
    )


@router.callback_query(CampaignClose.confirm, AdminCampaignConfirmCb.filter())
async def close(
    query: CallbackQuery,
    callback_data: AdminCampaignConfirmCb,
    i18n: Translator,
    is_admin: bool,
    services: BotServices,
    state: FSMContext,
) -> None:
    message = await editable_message(query, i18n)
    if message is None:
        return
    data = await state.get_data()
    if not is_admin or not nonces.matches(data.get("nonce"), callback_data.nonce):
        await query.answer(i18n("common.not_available"), show_alert=True)
        return
    await state.clear()
    await query.answer()
    await close_buttons(message)
    await change_status(
        message,
        campaign_id=int(data["campaign_id"]),
        action=AdminAction.CLOSE,
        event="closed",
        admin_id=query.from_user.id,
        i18n=i18n,
        services=services,
    )
