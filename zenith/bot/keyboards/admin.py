"""Inline keyboards of the admin panel."""

from __future__ import annotations

from aiogram.types import InlineKeyboardMarkup
from aiogram.utils.keyboard import InlineKeyboardBuilder

from zenith.bot.callbacks import (
    AdminHoldCb,
    AdminMenuCb,
    AdminPayoutCb,
    AdminQueue,
    AdminQueuePageCb,
    AdminSection,
    AdminUserCb,
    AdminVideoCb,
    Decision,
    HoldAction,
    UserAction,
)
from zenith.domain.tiers import Tier
from zenith.i18n import Translator

_SECTIONS = (
    (AdminSection.MODERATION, "admin.moderation"),
    (AdminSection.PAYOUTS, "admin.payouts"),
    (AdminSection.USER, "admin.user"),
    (AdminSection.BROADCAST, "admin.broadcast"),
    (AdminSection.STATUS, "admin.status"),
    (AdminSection.REVIEW, "admin.review"),
    (AdminSection.CAMPAIGNS, "campaigns.admin.button"),
)


def admin_menu_keyboard(i18n: Translator) -> InlineKeyboardMarkup:
    builder = InlineKeyboardBuilder()
    for section, key in _SECTIONS:
        builder.button(text=i18n(key), callback_data=AdminMenuCb(section=section))
    builder.adjust(2, 2, 2, 1)
    return builder.as_markup()


def moderation_keyboard(i18n: Translator, *, video_id: int) -> InlineKeyboardMarkup:
    builder = InlineKeyboardBuilder()
    builder.button(text=i18n("admin.approve"), callback_data=AdminVideoCb(action=Decision.APPROVE, video_id=video_id))
    builder.button(text=i18n("admin.reject"), callback_data=AdminVideoCb(action=Decision.REJECT, video_id=video_id))
    return builder.as_markup()


def hold_review_keyboard(i18n: Translator, *, hold_id: int) -> InlineKeyboardMarkup:
    """Release / Reverse this hold, and the same for every open hold of its creator."""
    builder = InlineKeyboardBuilder()
    for action, key in (
        (HoldAction.RELEASE, "admin.hold_release"),
        (HoldAction.REVERSE, "admin.hold_reverse"),
        (HoldAction.RELEASE_ALL, "admin.hold_release_all"),
        (HoldAction.REVERSE_ALL, "admin.hold_reverse_all"),
    ):
        builder.button(text=i18n(key), callback_data=AdminHoldCb(action=action, hold_id=hold_id))
    builder.adjust(2, 2)
    return builder.as_markup()


def payout_decision_keyboard(i18n: Translator, *, payout_id: int) -> InlineKeyboardMarkup:
    builder = InlineKeyboardBuilder()
    builder.button(
        text=i18n("admin.approve"), callback_data=AdminPayoutCb(action=Decision.APPROVE, payout_id=payout_id)
    )
    builder.button(text=i18n("admin.reject"), callback_data=AdminPayoutCb(action=Decision.REJECT, payout_id=payout_id))
    return builder.as_markup()


def queue_pages_keyboard(i18n: Translator, *, queue: AdminQueue, page: int, pages: int) -> InlineKeyboardMarkup:
    """‹ Previous / Next › under a queue page (zero-based `page` of `pages`); only the ways that exist."""
    builder = InlineKeyboardBuilder()
    if page > 0:
        builder.button(text=i18n("admin.page_prev"), callback_data=AdminQueuePageCb(queue=queue, page=page - 1))
    if page + 1 < pages:
        builder.button(text=i18n("admin.page_next"), callback_data=AdminQueuePageCb(queue=queue, page=page + 1))
    return builder.as_markup()


def user_actions_keyboard(i18n: Translator, *, user_id: int, tier: Tier | str, banned: bool) -> InlineKeyboardMarkup:
    builder = InlineKeyboardBuilder()
    if tier == Tier.GOLD:
        builder.button(
            text=i18n("admin.make_bronze"), callback_data=AdminUserCb(action=UserAction.BRONZE, user_id=user_id)
        )
    else:
        builder.button(text=i18n("admin.make_gold"), callback_data=AdminUserCb(action=UserAction.GOLD, user_id=user_id))
    if banned:
        builder.button(text=i18n("admin.unban"), callback_data=AdminUserCb(action=UserAction.UNBAN, user_id=user_id))
    else:
        builder.button(text=i18n("admin.ban"), callback_data=AdminUserCb(action=UserAction.BAN, user_id=user_id))
    return builder.as_markup()
