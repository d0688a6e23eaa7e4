"""An admin's press on a campaign confirmation or amount reading whose dialogue is over
(confirmed already, cancelled, or replaced by a newer one): "no longer available", or,
for the Create of a dialogue that created its draft, that it was created already.

Included after every campaign router, so it only gets the presses no dialogue took;
without it they would reach the non-admins' refusal ("for admins only").
"""

from __future__ import annotations

from aiogram import Router
from aiogram.types import CallbackQuery

from zenith.bot.callbacks import AdminCampaignAmountCb, AdminCampaignConfirmCb
from zenith.bot.handlers.admin.campaign_setup import answer_spent_confirmation
from zenith.bot.services import BotServices
from zenith.i18n import Translator

router = Router(name=__name__)


@router.callback_query(AdminCampaignConfirmCb.filter())
async def stale_confirmation(
    query: CallbackQuery, callback_data: AdminCampaignConfirmCb, i18n: Translator, services: BotServices
) -> None:
    await answer_spent_confirmation(query, callback_data.nonce, i18n=i18n, services=services)


@router.callback_query(AdminCampaignAmountCb.filter())
async def stale_reading(query: CallbackQuery, i18n: Translator) -> None:
    await query.answer(i18n("common.not_available"), show_alert=True)
