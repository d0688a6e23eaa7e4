"""Campaigns for creators: the open ones and, below them, the upcoming ones (scheduled and
funded, `domain.campaign_upcoming`), page by page, with a Join button each.

Joining is idempotent (a member stays a member; a double tap says "already in"). Members
of an upcoming campaign are told when it opens; until then it takes no links. Picking
the campaign of a submitted link is in `handlers.submit` (open campaigns only).
"""

from __future__ import annotations

import logging
import math
from datetime import datetime, timezone

from aiogram import Router
from aiogram.filters import Command
from aiogram.types import CallbackQuery, InlineKeyboardMarkup, Message

from zenith.bot.callbacks import CampaignJoinCb, CampaignsPageCb
from zenith.bot.campaign_cards import campaign_card
from zenith.bot.handlers.errors import unless_harmless
from zenith.bot.keyboards.campaigns import campaigns_keyboard
from zenith.bot.keyboards.menu import menu_button
from zenith.bot.services import BotServices
from zenith.domain.campaigns import CampaignStatus
from zenith.i18n import Translator
from zenith.storage import campaigns, creator_campaigns
from zenith.storage.campaigns import Campaign
from zenith.storage.users import User

logger = logging.getLogger(__name__)

router = Router(name=__name__)

# campaigns per page: each card is seven or eight lines
PAGE_SIZE = 3


async def campaigns_page(
    services: BotServices, i18n: Translator, *, user: User, page: int
) -> tuple[str, InlineKeyboardMarkup | None] | None:
    """The text and keyboard of one page of the list (open campaigns, then upcoming ones);
    None when the page does not exist."""
    now = datetime.now(timezone.utc)
    async with services.read() as conn:
        listed = await creator_campaigns.listing(conn, now=now, limit=PAGE_SIZE, offset=page * PAGE_SIZE)
        shown = [*listed.open, *listed.upcoming]
        spends = [await campaigns.spend(conn, campaign.id) for campaign in shown]
        joined = await creator_campaigns.joined_ids(conn, user_id=user.id, campaign_ids=[c.id for c in shown])
    pages = max(1, math.ceil(listed.total / PAGE_SIZE))
    if page >= pages:
        return None
    if not shown:
        return i18n("creator_campaigns.empty"), None
    by_id = {campaign.id: spend for campaign, spend in zip(shown, spends, strict=True)}

    def card(campaign: Campaign, *, upcoming: bool) -> str:
        return campaign_card(
            i18n,
            campaign,
            by_id[campaign.id],
            joined=campaign.id in joined,
            program=services.earnings,
            now=now,
            upcoming=upcoming,
        )

    parts = []
    if listed.open or page == 0:  # the first page says what is open, even when nothing is
        header = "creator_campaigns.header" if listed.open_total else "creator_campaigns.empty"
        parts.append(i18n(header, total=listed.open_total))
    parts.extend(card(campaign, upcoming=False) for campaign in listed.open)
    if listed.upcoming:
        parts.append(i18n("creator_campaigns.upcoming_header", total=listed.upcoming_total))
        parts.extend(card(campaign, upcoming=True) for campaign in listed.upcoming)
    to_join = [(campaign.id, campaign.name) for campaign in shown if campaign.id not in joined]
    return "\n\n".join(parts), campaigns_keyboard(i18n, to_join=to_join, page=page, pages=pages)


@router.message(Command("campaigns"))
@router.message(menu_button("menu.campaigns"))
async def list_campaigns(message: Message, user: User, i18n: Translator, services: BotServices) -> None:
    shown = await campaigns_page(services, i18n, user=user, page=0)
    text, keyboard = shown if shown is not None else (i18n("creator_campaigns.empty"), None)
    await message.answer(text, reply_markup=keyboard, disable_web_page_preview=True)


async def _show(query: CallbackQuery, text: str, keyboard: InlineKeyboardMarkup | None) -> None:
    if not isinstance(query.message, Message):  # gone or too old to edit
        return
    with unless_harmless():  # the same page again: "message is not modified"
        await query.message.edit_text(text, reply_markup=keyboard, disable_web_page_preview=True)


@router.callback_query(CampaignsPageCb.filter())
async def turn_page(
    query: CallbackQuery, callback_data: CampaignsPageCb, user: User, i18n: Translator, services: BotServices
) -> None:
    shown = await campaigns_page(services, i18n, user=user, page=callback_data.page)
    if shown is None:
        await query.answer(i18n("common.not_available"), show_alert=True)
        return
    await query.answer()
    await _show(query, *shown)


@router.callback_query(CampaignJoinCb.filter())
async def join_campaign(
    query: CallbackQuery, callback_data: CampaignJoinCb, user: User, i18n: Translator, services: BotServices
) -> None:
    now = datetime.now(timezone.utc)
    async with services.transaction() as conn:
        # ids in buttons are never trusted: only an open or upcoming campaign can be joined
        campaign = await creator_campaigns.joinable(conn, callback_data.campaign_id, now=now)
        if campaign is not None:
            added = await campaigns.join(conn, campaign_id=campaign.id, user_id=user.id)
    if campaign is None:
        await query.answer(i18n("creator_campaigns.not_open"), show_alert=True)
        return
    if not added:  # a double tap, or an old message: nothing changes
        await query.answer(i18n("creator_campaigns.already_joined", name=campaign.name), show_alert=True)
        return
    logger.info("user %s joined campaign %s", user.id, campaign.id)
    await query.answer()
    shown = await campaigns_page(services, i18n, user=user, page=callback_data.page)
    if shown is None:  # the page emptied meanwhile: the first one
        shown = await campaigns_page(services, i18n, user=user, page=0)
    if shown is not None:
        await _show(query, *shown)
    if query.message is not None:  # longer than a button's alert may be
        await query.message.answer(_joined_text(i18n, campaign))


def _joined_text(i18n: Translator, campaign: Campaign) -> str:
    """What joining means now: send links (open), or wait for the opening and its message."""
    if campaign.status is CampaignStatus.OPEN or campaign.starts_at is None:
        return i18n("creator_campaigns.joined", name=campaign.name)
    return i18n("creator_campaigns.joined_upcoming", name=campaign.name, when=campaign.starts_at)
