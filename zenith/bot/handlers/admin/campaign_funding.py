"""Funding a campaign: the admin types an amount (ambiguous ones asked back), confirms,
and one ledger transfer system:sponsors -> campaign:N:budget is made.

The transfer's idempotency key comes from the confirmation's nonce, so a double tap, two
bots handling the same press or a redelivered update fund once.
"""

from __future__ import annotations

from decimal import Decimal

from aiogram import F, Router
from aiogram.fsm.context import FSMContext
from aiogram.types import CallbackQuery, Message

from zenith.bot import nonces
from zenith.bot.amounts import AmountAmbiguous, AmountNotUnderstood
from zenith.bot.callbacks import AdminCampaignAmountCb, AdminCampaignCb, AdminCampaignConfirmCb, CampaignAction
from zenith.bot.filters import HasText
from zenith.bot.handlers.admin.campaign_input import ask_which_amount, read_field, take_choice
from zenith.bot.handlers.admin.campaign_views import field_error
from zenith.bot.handlers.admin.campaigns import send_card
from zenith.bot.handlers.admin.decisions import close_buttons, refuse_unless_admin
from zenith.bot.keyboards.campaigns_admin import campaign_confirm_keyboard
from zenith.bot.keyboards.inline import cancel_keyboard
from zenith.bot.pressed import editable_message
from zenith.bot.services import BotServices
from zenith.bot.states import CampaignFund
from zenith.domain.campaign_admin import CampaignFieldError
from zenith.domain.campaigns import CampaignStatus
from zenith.i18n import Translator
from zenith.storage import audit, campaigns, ledger

router = Router(name=__name__)


@router.callback_query(AdminCampaignCb.filter(F.action == CampaignAction.FUND))
async def ask_amount(
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
            campaign = None
        remaining = await ledger.account_balance(conn, ledger.budget_account(callback_data.campaign_id))
    if campaign is None or not campaign.budgeted or campaign.status is CampaignStatus.CLOSED:
        await query.answer(i18n("campaigns.admin.not_editable"), show_alert=True)
        return
    await query.answer()
    await state.set_state(CampaignFund.amount)
    await state.update_data(campaign_id=campaign.id, name=campaign.name)
    await message.answer(
        i18n("campaigns.admin.ask_fund", name=campaign.name, remaining=remaining), reply_markup=cancel_keyboard(i18n)
    )


async def _take_amount(message: Message, raw: str | Decimal, *, i18n: Translator, state: FSMContext) -> None:
    try:
        amount = Decimal(read_field("fund", raw))
    except CampaignFieldError as error:
        await message.answer(field_error(i18n, error), reply_markup=cancel_keyboard(i18n))
        return
    except AmountAmbiguous as doubt:
        await ask_which_amount(message, doubt, i18n=i18n, state=state)
        return
    except AmountNotUnderstood:
        await message.answer(i18n("campaigns.admin.amount_unclear"), reply_markup=cancel_keyboard(i18n))
        return
    nonce = nonces.new_nonce()
    await state.set_state(CampaignFund.confirm)
    await state.update_data(amount=str(amount), nonce=nonce)
    name = str((await state.get_data()).get("name", ""))
    await message.answer(
        i18n("campaigns.admin.confirm_fund", amount=amount, name=name),
        reply_markup=campaign_confirm_keyboard(i18n, nonce=nonce),
    )


@router.message(CampaignFund.amount, HasText())
async def amount_typed(message: Message, i18n: Translator, is_admin: bool, state: FSMContext) -> None:
    if is_admin:
        await _take_amount(message, message.text or "", i18n=i18n, state=state)


@router.callback_query(CampaignFund.amount, AdminCampaignAmountCb.filter())
async def amount_picked(
    query: CallbackQuery, callback_data: AdminCampaignAmountCb, i18n: Translator, is_admin: bool, state: FSMContext
) -> None:
    if await refuse_unless_admin(query, i18n=i18n, is_admin=is_admin):
        return
    message = await editable_message(query, i18n)
    if message is None:
        return
    amount = await take_choice(query, callback_data, i18n=i18n, state=state)
    if amount is not None:
        await close_buttons(message)
        await _take_amount(message, amount, i18n=i18n, state=state)


@router.callback_query(CampaignFund.confirm, AdminCampaignConfirmCb.filter())
async def fund(
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
    campaign_id, amount = int(data["campaign_id"]), Decimal(str(data["amount"]))
    key = f"campaign:{campaign_id}:fund:{callback_data.nonce}"
    try:
        async with services.transaction() as conn:
            made = await campaigns.fund(conn, campaign_id=campaign_id, amount=amount, idempotency_key=key)
            if made:
                await audit.record(
                    conn,
                    admin_id=query.from_user.id,
                    action="campaign.fund",
                    target_type="campaign",
                    target_id=campaign_id,
                    details={"amount": str(amount), "idempotency_key": key},
                )
            remaining = await ledger.account_balance(conn, ledger.budget_account(campaign_id))
    except ValueError:  # closed meanwhile (or the program without a budget): nothing moved
        await message.answer(i18n("campaigns.admin.not_editable"))
        return
    name = str(data.get("name", ""))
    if made:
        await message.answer(i18n("campaigns.admin.funded", name=name, amount=amount, remaining=remaining))
    else:
        await message.answer(i18n("campaigns.admin.fund_repeat", remaining=remaining))
    await send_card(message, campaign_id, i18n=i18n, services=services)
