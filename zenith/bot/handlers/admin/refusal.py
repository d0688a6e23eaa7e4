"""Admin commands and buttons from anyone who is not an admin: refused, nothing done."""

from __future__ import annotations

import logging

from aiogram import Router
from aiogram.filters import Command
from aiogram.types import CallbackQuery, Message

from zenith.bot.callbacks import (
    AdminCampaignAmountCb,
    AdminCampaignCb,
    AdminCampaignConfirmCb,
    AdminCampaignEditCb,
    AdminCampaignNewCb,
    AdminCampaignPageCb,
    AdminHoldCb,
    AdminMenuCb,
    AdminPayoutCb,
    AdminQueuePageCb,
    AdminUserCb,
    AdminVideoCb,
    BroadcastCb,
)
from zenith.bot.filters import CallbackPrefixIn
from zenith.bot.keyboards.menu import menu_button
from zenith.i18n import Translator

logger = logging.getLogger(__name__)

router = Router(name=__name__)

ADMIN_COMMANDS = (
    "admin",
    "moderation",
    "payouts",
    "user",
    "broadcast",
    "status",
    "review",
    "quarantine",
    "admin_campaigns",
)


@router.message(Command(*ADMIN_COMMANDS))
@router.message(menu_button("menu.admin"))
async def refuse_command(message: Message, i18n: Translator) -> None:
    logger.warning("admin command refused", extra={"update_type": "message", "command": (message.text or "")[:32]})
    await message.answer(i18n("admin.refused"))


@router.callback_query(
    CallbackPrefixIn(
        cb.__prefix__
        for cb in (
            AdminMenuCb,
            AdminQueuePageCb,
            AdminVideoCb,
            AdminPayoutCb,
            AdminHoldCb,
            AdminUserCb,
            BroadcastCb,
            AdminCampaignCb,
            AdminCampaignPageCb,
            AdminCampaignNewCb,
            AdminCampaignEditCb,
            AdminCampaignConfirmCb,
            AdminCampaignAmountCb,
        )
    )
)
async def refuse_button(query: CallbackQuery, i18n: Translator) -> None:
    logger.warning("admin button refused", extra={"update_type": "callback_query"})
    await query.answer(i18n("admin.refused"), show_alert=True)
