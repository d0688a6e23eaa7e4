"""Inline keyboards of the campaigns screens: Join buttons with page navigation, and the
question which campaign a submitted link is for."""

from __future__ import annotations

from typing import Sequence

from aiogram.types import InlineKeyboardMarkup
from aiogram.utils.keyboard import InlineKeyboardBuilder

from zenith.bot.callbacks import CampaignJoinCb, CampaignPickCb, CampaignsPageCb
from zenith.domain.campaigns import DEFAULT_CAMPAIGN_ID
from zenith.i18n import Translator

# a name longer than this is cut on a button (Telegram shows about this much on a phone)
BUTTON_NAME_LENGTH = 40


def _short(name: str) -> str:
    return name if len(name) <= BUTTON_NAME_LENGTH else name[: BUTTON_NAME_LENGTH - 1] + "…"


def campaigns_keyboard(
    i18n: Translator, *, to_join: Sequence[tuple[int, str]], page: int, pages: int
) -> InlineKeyboardMarkup | None:
    """A Join button per campaign not joined yet and a ‹ page › row when there are more pages.

    Parameters:
      to_join: (campaign id, name) of the campaigns on the page the creator has not joined.
      page: the zero-based page shown; pages: how many pages there are.
    """
    builder = InlineKeyboardBuilder()
    for campaign_id, name in to_join:
        builder.button(
            text=i18n("creator_campaigns.join_button", name=_short(name)),
            callback_data=CampaignJoinCb(campaign_id=campaign_id, page=page),
        )
    sizes = [1] * len(to_join)
    if pages > 1:
        nav = []
        if page > 0:
            nav.append((i18n("common.prev"), page - 1))
        nav.append((i18n("common.page", page=page + 1, pages=pages), page))
        if page + 1 < pages:
            nav.append((i18n("common.next"), page + 1))
        for text, target in nav:
            builder.button(text=text, callback_data=CampaignsPageCb(page=target))
        sizes.append(len(nav))
    if not sizes:
        return None
    builder.adjust(*sizes)
    return builder.as_markup()


def pick_keyboard(i18n: Translator, *, nonce: str, joined: Sequence[tuple[int, str]]) -> InlineKeyboardMarkup:
    """One button per open campaign the creator joined, then the standard program."""
    builder = InlineKeyboardBuilder()
    for campaign_id, name in joined:
        builder.button(text=_short(name), callback_data=CampaignPickCb(nonce=nonce, campaign_id=campaign_id))
    builder.button(
        text=i18n("creator_campaigns.pick_standard"),
        callback_data=CampaignPickCb(nonce=nonce, campaign_id=DEFAULT_CAMPAIGN_ID),
    )
    builder.adjust(1)
    return builder.as_markup()
