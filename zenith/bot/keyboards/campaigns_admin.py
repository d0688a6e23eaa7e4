"""Inline keyboards of the admins' campaign screens."""

from __future__ import annotations

from decimal import Decimal
from typing import Sequence

from aiogram.types import InlineKeyboardMarkup
from aiogram.utils.keyboard import InlineKeyboardBuilder

from zenith.bot.callbacks import (
    AdminCampaignAmountCb,
    AdminCampaignCb,
    AdminCampaignConfirmCb,
    AdminCampaignEditCb,
    AdminCampaignNewCb,
    AdminCampaignPageCb,
    CampaignAction,
    CampaignField,
    CancelCb,
)
from zenith.domain.campaign_admin import actions_for
from zenith.domain.campaigns import CampaignStatus
from zenith.i18n import Translator


def campaign_list_keyboard(
    i18n: Translator, *, entries: Sequence[tuple[int, str]], page: int, pages: int
) -> InlineKeyboardMarkup:
    """A button per campaign (id, label), ‹ › when there are more pages, then New campaign."""
    builder = InlineKeyboardBuilder()
    for campaign_id, label in entries:
        builder.button(text=label, callback_data=AdminCampaignCb(action=CampaignAction.SHOW, campaign_id=campaign_id))
    paging = 0
    if page > 0:
        builder.button(text=i18n("admin.page_prev"), callback_data=AdminCampaignPageCb(page=page - 1))
        paging += 1
    if page + 1 < pages:
        builder.button(text=i18n("admin.page_next"), callback_data=AdminCampaignPageCb(page=page + 1))
        paging += 1
    builder.button(text=i18n("campaigns.admin.new"), callback_data=AdminCampaignNewCb())
    builder.adjust(*([1] * len(entries)), *([paging] if paging else []), 1)
    return builder.as_markup()


def campaign_card_keyboard(
    i18n: Translator, *, campaign_id: int, status: CampaignStatus, budgeted: bool
) -> InlineKeyboardMarkup:
    """Fund, the status changes its status allows, Edit rules, then « Campaigns."""
    builder = InlineKeyboardBuilder()
    rows = []
    if budgeted and status is not CampaignStatus.CLOSED:
        builder.button(
            text=i18n("campaigns.admin.fund"),
            callback_data=AdminCampaignCb(action=CampaignAction.FUND, campaign_id=campaign_id),
        )
        builder.button(
            text=i18n("campaigns.admin.edit"),
            callback_data=AdminCampaignCb(action=CampaignAction.EDIT, campaign_id=campaign_id),
        )
        rows.append(2)
        actions = actions_for(status)
        for action in actions:
            builder.button(
                text=i18n(f"campaigns.admin.{action.value}"),
                callback_data=AdminCampaignCb(action=CampaignAction(action.value), campaign_id=campaign_id),
            )
        rows.append(len(actions))
    builder.button(text=i18n("campaigns.admin.back"), callback_data=AdminCampaignPageCb(page=0))
    rows.append(1)
    builder.adjust(*rows)
    return builder.as_markup()


def edit_fields_keyboard(i18n: Translator, *, campaign_id: int) -> InlineKeyboardMarkup:
    builder = InlineKeyboardBuilder()
    for field in CampaignField:
        builder.button(
            text=i18n(f"campaigns.admin.field_{field.value}"),
            callback_data=AdminCampaignEditCb(field=field, campaign_id=campaign_id),
        )
    builder.button(text=i18n("common.cancel"), callback_data=CancelCb())
    builder.adjust(2, 2, 2, 2, 1, 1)
    return builder.as_markup()


def campaign_confirm_keyboard(i18n: Translator, *, nonce: str) -> InlineKeyboardMarkup:
    builder = InlineKeyboardBuilder()
    builder.button(text=i18n("common.confirm"), callback_data=AdminCampaignConfirmCb(nonce=nonce))
    builder.button(text=i18n("common.cancel"), callback_data=CancelCb())
    builder.adjust(2)
    return builder.as_markup()


def campaign_amount_keyboard(i18n: Translator, *, nonce: str, choices: Sequence[Decimal]) -> InlineKeyboardMarkup:
    """One button per reading of an ambiguous amount, then Cancel."""
    builder = InlineKeyboardBuilder()
    for index, amount in enumerate(choices):
        builder.button(
            text=i18n("campaigns.admin.rub", amount=amount),
            callback_data=AdminCampaignAmountCb(nonce=nonce, index=index),
        )
    builder.button(text=i18n("common.cancel"), callback_data=CancelCb())
    builder.adjust(1)
    return builder.as_markup()
