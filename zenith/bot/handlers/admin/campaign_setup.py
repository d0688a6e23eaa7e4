"""Setting a campaign up: the new-campaign dialogue (name, rate, platforms, tags, min
views, cap, min account age, min followers, start, end, then a summary to confirm:
created as a draft, once per dialogue) and editing one rule of an existing campaign. A
bad value is answered with what is wrong, translated, and asked again; an ambiguous
amount is asked back."""

from __future__ import annotations

import logging
from decimal import Decimal
from typing import Any

from aiogram import F, Router
from aiogram.filters import StateFilter
from aiogram.fsm.context import FSMContext
from aiogram.fsm.state import State
from aiogram.types import CallbackQuery, Message

from zenith.bot import nonces
from zenith.bot.amounts import AmountAmbiguous, AmountNotUnderstood
from zenith.bot.callbacks import (
    AdminCampaignAmountCb,
    AdminCampaignCb,
    AdminCampaignConfirmCb,
    AdminCampaignEditCb,
    AdminCampaignNewCb,
    CampaignAction,
    CampaignField,
)
from zenith.bot.filters import HasText
from zenith.bot.handlers.admin.campaign_input import (
    MONEY_FIELDS,
    ask_which_amount,
    check_schedule,
    dates_of,
    read_field,
    take_choice,
    terms_of,
)
from zenith.bot.handlers.admin.campaign_views import campaign_fields, field_error, summary_text
from zenith.bot.handlers.admin.campaigns import send_card
from zenith.bot.handlers.admin.decisions import close_buttons, refuse_unless_admin
from zenith.bot.keyboards.campaigns_admin import campaign_confirm_keyboard, edit_fields_keyboard
from zenith.bot.keyboards.inline import cancel_keyboard
from zenith.bot.pressed import editable_message
from zenith.bot.services import BotServices
from zenith.bot.states import CampaignEdit, CampaignSetup
from zenith.domain.campaign_admin import MAX_NAME_LENGTH, CampaignFieldError
from zenith.i18n import Markup, Translator
from zenith.storage import audit, campaign_life, campaigns

logger = logging.getLogger(__name__)

router = Router(name=__name__)

# the dialogue's steps in order: (state, field, question)
STEPS: tuple[tuple[State, str, str], ...] = (
    (CampaignSetup.name, "name", "campaigns.admin.ask_name"),
    (CampaignSetup.rate, "rate", "campaigns.admin.ask_rate"),
    (CampaignSetup.platforms, "platforms", "campaigns.admin.ask_platforms"),
    (CampaignSetup.tags, "tags", "campaigns.admin.ask_tags"),
    (CampaignSetup.min_views, "min_views", "campaigns.admin.ask_min_views"),
    (CampaignSetup.cap, "cap", "campaigns.admin.ask_cap"),
    (CampaignSetup.min_account_age_days, "min_account_age_days", "campaigns.admin.ask_min_account_age_days"),
    (CampaignSetup.min_followers, "min_followers", "campaigns.admin.ask_min_followers"),
    (CampaignSetup.starts, "starts", "campaigns.admin.ask_starts"),
    (CampaignSetup.ends, "ends", "campaigns.admin.ask_ends"),
)
_STEP_OF = {step[0].state: index for index, step in enumerate(STEPS)}
_QUESTION = {field: question for _, field, question in STEPS}


async def _ask(message: Message, index: int, *, i18n: Translator, state: FSMContext) -> None:
    step_state, _, question = STEPS[index]
    await state.set_state(step_state)
    text = i18n("campaigns.admin.step", n=index + 1, total=len(STEPS)) + " " + i18n(question, max=MAX_NAME_LENGTH)
    await message.answer(text, reply_markup=cancel_keyboard(i18n))


@router.callback_query(AdminCampaignNewCb.filter())
async def start_setup(query: CallbackQuery, i18n: Translator, is_admin: bool, state: FSMContext) -> None:
    if await refuse_unless_admin(query, i18n=i18n, is_admin=is_admin):
        return
    message = await editable_message(query, i18n)
    if message is None:
        return
    await query.answer()
    await state.clear()
    await _ask(message, 0, i18n=i18n, state=state)


_NOTHING = object()  # what `_read` returns once it has told the admin what is wrong


async def _read(message: Message, field: str, raw: str | Decimal, *, i18n: Translator, state: FSMContext) -> Any:
    """The field's value, or ``_NOTHING`` after telling the admin what is wrong (the step waits)."""
    try:
        return read_field(field, raw)
    except CampaignFieldError as error:
        await message.answer(field_error(i18n, error), reply_markup=cancel_keyboard(i18n))
    except AmountAmbiguous as doubt:
        await ask_which_amount(message, doubt, i18n=i18n, state=state)
    except AmountNotUnderstood:
        await message.answer(i18n("campaigns.admin.amount_unclear"), reply_markup=cancel_keyboard(i18n))
    return _NOTHING


async def _setup_step(message: Message, raw: str | Decimal, *, i18n: Translator, state: FSMContext) -> None:
    index = _STEP_OF[await state.get_state() or ""]
    field = STEPS[index][1]
    value = await _read(message, field, raw, i18n=i18n, state=state)
    if value is _NOTHING:
        return
    fields = {**(await state.get_data()).get("fields", {}), field: value}
    if field in ("starts", "ends"):
        try:
            check_schedule(fields, new_start=True)
        except CampaignFieldError as error:
            await message.answer(field_error(i18n, error), reply_markup=cancel_keyboard(i18n))
            return
    await state.update_data(fields=fields)
    if index + 1 < len(STEPS):
        await _ask(message, index + 1, i18n=i18n, state=state)
        return
    nonce = nonces.new_nonce()
    await state.set_state(CampaignSetup.confirm)
    await state.update_data(nonce=nonce)
    await message.answer(
        i18n("campaigns.admin.confirm_create", summary=Markup(summary_text(i18n, fields))),
        reply_markup=campaign_confirm_keyboard(i18n, nonce=nonce),
    )


@router.message(StateFilter(*(step[0] for step in STEPS)), HasText())
async def setup_value(message: Message, i18n: Translator, is_admin: bool, state: FSMContext) -> None:
    if is_admin:
        await _setup_step(message, message.text or "", i18n=i18n, state=state)


@router.callback_query(StateFilter(CampaignSetup.rate, CampaignSetup.cap), AdminCampaignAmountCb.filter())
async def setup_amount_choice(
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
        await _setup_step(message, amount, i18n=i18n, state=state)


def creation_key(admin_id: int, nonce: str) -> str:
    """What makes one dialogue's draft unique: its admin and the nonce of its confirmation."""
    return f"campaign-setup:{admin_id}:{nonce}"


async def answer_spent_confirmation(
    query: CallbackQuery, nonce: str, *, i18n: Translator, services: BotServices
) -> None:
    """A confirmation whose dialogue is over: "already created" when it is the Create of a
    dialogue that created its draft, else "no longer available"."""
    async with services.read() as conn:
        earlier = await campaigns.find_by_creation_key(conn, creation_key(query.from_user.id, nonce))
    if earlier is None:
        await query.answer(i18n("common.not_available"), show_alert=True)
    else:
        await query.answer(i18n("campaigns.admin.already_created", id=earlier.id), show_alert=True)


@router.callback_query(CampaignSetup.confirm, AdminCampaignConfirmCb.filter())
async def create(
    query: CallbackQuery,
    callback_data: AdminCampaignConfirmCb,
    i18n: Translator,
    is_admin: bool,
    services: BotServices,
    state: FSMContext,
) -> None:
    """Create the draft the summary shows, once per dialogue: presses of its Create handled
    at once (a double tap, two updates racing) both get here, and the dialogue's key lets
    one insert; the other says it was created already. A press after the dialogue ended
    goes to ``campaign_stale``, which says the same."""
    if await refuse_unless_admin(query, i18n=i18n, is_admin=is_admin):
        return
    message = await editable_message(query, i18n)
    if message is None:
        return
    data = await state.get_data()
    if not nonces.matches(data.get("nonce"), callback_data.nonce):
        # an earlier dialogue's Create pressed while a newer one waits
        await answer_spent_confirmation(query, callback_data.nonce, i18n=i18n, services=services)
        return
    fields = data["fields"]
    starts_at, ends_at = dates_of(fields)
    async with services.transaction() as conn:
        campaign, created = await campaigns.create_once(
            conn,
            creation_key=creation_key(query.from_user.id, callback_data.nonce),
            name=fields["name"],
            terms=terms_of(fields),
            starts_at=starts_at,
            ends_at=ends_at,
        )
        if created:
            await audit.record(
                conn,
                admin_id=query.from_user.id,
                action="campaign.create",
                target_type="campaign",
                target_id=campaign.id,
                details=fields,
            )
    if not created:  # the press that created it clears the dialogue and shows the card
        await query.answer(i18n("campaigns.admin.already_created", id=campaign.id), show_alert=True)
        return
    await state.clear()
    await query.answer()
    await close_buttons(message)
    await message.answer(i18n("campaigns.admin.created", id=campaign.id))
    await send_card(message, campaign.id, i18n=i18n, services=services)


@router.callback_query(AdminCampaignCb.filter(F.action == CampaignAction.EDIT))
async def choose_field(
    query: CallbackQuery, callback_data: AdminCampaignCb, i18n: Translator, is_admin: bool, services: BotServices
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
    await query.answer()
    await message.answer(
        i18n("campaigns.admin.ask_field", name=campaign.name),
        reply_markup=edit_fields_keyboard(i18n, campaign_id=campaign.id),
    )


@router.callback_query(AdminCampaignEditCb.filter())
async def ask_value(
    query: CallbackQuery, callback_data: AdminCampaignEditCb, i18n: Translator, is_admin: bool, state: FSMContext
) -> None:
    if await refuse_unless_admin(query, i18n=i18n, is_admin=is_admin):
        return
    message = await editable_message(query, i18n)
    if message is None:
        return
    await query.answer()
    await close_buttons(message)
    await state.set_state(CampaignEdit.value)
    await state.update_data(campaign_id=callback_data.campaign_id, field=callback_data.field.value)
    hint = i18n(_QUESTION[callback_data.field.value], max=MAX_NAME_LENGTH)
    await message.answer(i18n("campaigns.admin.ask_value", hint=hint), reply_markup=cancel_keyboard(i18n))


async def _edit(
    message: Message, raw: str | Decimal, *, admin_id: int, i18n: Translator, services: BotServices, state: FSMContext
) -> None:
    data = await state.get_data()
    field, campaign_id = str(data["field"]), int(data["campaign_id"])
    value = await _read(message, field, raw, i18n=i18n, state=state)
    if value is _NOTHING:
        return
    try:
        edited = await _apply_edit(services, campaign_id=campaign_id, field=field, value=value, admin_id=admin_id)
    except CampaignFieldError as error:
        await message.answer(field_error(i18n, error), reply_markup=cancel_keyboard(i18n))
        return
    except campaigns.CampaignNotFound:
        edited = None
    await state.clear()
    if edited is None:
        await message.answer(i18n("campaigns.admin.not_editable"))
        return
    label = i18n(f"campaigns.admin.field_{CampaignField(field).value}")
    await message.answer(i18n("campaigns.admin.edited", id=campaign_id, field=label))
    await send_card(message, campaign_id, i18n=i18n, services=services)


async def _apply_edit(
    services: BotServices, *, campaign_id: int, field: str, value: Any, admin_id: int
) -> campaigns.Campaign | None:
    """One rule replaced under the campaign's lock and audited; None if it cannot change
    (closed, the default program). Raises ``CampaignFieldError`` for dates that clash."""
    async with services.transaction() as conn:
        current = await campaigns.get(conn, campaign_id, for_update=True)
        fields = {**campaign_fields(current), field: value}
        if field in ("starts", "ends"):
            check_schedule(fields, new_start=field == "starts")
        starts_at, ends_at = dates_of(fields)
        edited = await campaign_life.update_rules(
            conn, campaign_id=campaign_id, terms=terms_of(fields), starts_at=starts_at, ends_at=ends_at
        )
        if edited is not None:
            await audit.record(
                conn,
                admin_id=admin_id,
                action="campaign.edit",
                target_type="campaign",
                target_id=campaign_id,
                details={"field": field, "value": value},
            )
    return edited


@router.message(CampaignEdit.value, HasText())
async def edit_value(
    message: Message, i18n: Translator, is_admin: bool, services: BotServices, state: FSMContext
) -> None:
    if is_admin and message.from_user is not None:
        await _edit(
            message, message.text or "", admin_id=message.from_user.id, i18n=i18n, services=services, state=state
        )


@router.callback_query(CampaignEdit.value, AdminCampaignAmountCb.filter())
async def edit_amount_choice(
    query: CallbackQuery,
    callback_data: AdminCampaignAmountCb,
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
    amount = await take_choice(query, callback_data, i18n=i18n, state=state)
    if amount is not None and str((await state.get_data()).get("field")) in MONEY_FIELDS:
        await close_buttons(message)
        await _edit(message, amount, admin_id=query.from_user.id, i18n=i18n, services=services, state=state)
