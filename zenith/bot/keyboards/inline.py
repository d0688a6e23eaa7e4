"""Inline keyboards of the creator's screens."""

from __future__ import annotations

from decimal import Decimal
from typing import Iterable, Sequence

from aiogram.types import InlineKeyboardMarkup
from aiogram.utils.keyboard import InlineKeyboardBuilder

from zenith.bot.callbacks import (
    AccountAction,
    AccountCb,
    CancelCb,
    DigestCb,
    DigestSwitch,
    Language,
    LanguageCb,
    VideoCb,
    VideosPageCb,
    WithdrawAmountCb,
    WithdrawAssetCb,
    WithdrawConfirmCb,
)
from zenith.domain.links import Platform
from zenith.i18n import Translator, get_translator


def cancel_keyboard(i18n: Translator) -> InlineKeyboardMarkup:
    builder = InlineKeyboardBuilder()
    builder.button(text=i18n("common.cancel"), callback_data=CancelCb())
    return builder.as_markup()


def language_keyboard(i18n: Translator | None = None, *, digest_enabled: bool | None = None) -> InlineKeyboardMarkup:
    """A button per language; with ``digest_enabled`` (not None) a row switching the daily digest."""
    builder = InlineKeyboardBuilder()
    for language in Language:
        builder.button(
            text=get_translator(language.value)(f"language.name_{language.value}"),
            callback_data=LanguageCb(code=language),
        )
    if i18n is not None and digest_enabled is not None:
        label, switch = (
            ("language.digest_on", DigestSwitch.OFF) if digest_enabled else ("language.digest_off", DigestSwitch.ON)
        )
        builder.button(text=i18n(label), callback_data=DigestCb(switch=switch))
        builder.adjust(len(Language), 1)
    return builder.as_markup()


def accounts_keyboard(i18n: Translator, *, unverified: Iterable[tuple[int, str, str]]) -> InlineKeyboardMarkup:
    """Buttons to add an account and to check each unverified one.

    Parameters:
      unverified: (account_id, platform, handle) of accounts awaiting verification.
    """
    builder = InlineKeyboardBuilder()
    for account_id, platform, handle in unverified:
        builder.button(
            text=i18n("accounts.check", handle=handle),
            callback_data=AccountCb(action=AccountAction.CHECK, platform=Platform(platform), account_id=account_id),
        )
    builder.button(
        text=i18n("accounts.add_tiktok"), callback_data=AccountCb(action=AccountAction.ADD, platform=Platform.TIKTOK)
    )
    builder.button(
        text=i18n("accounts.add_youtube"), callback_data=AccountCb(action=AccountAction.ADD, platform=Platform.YOUTUBE)
    )
    builder.button(
        text=i18n("accounts.add_instagram"),
        callback_data=AccountCb(action=AccountAction.ADD, platform=Platform.INSTAGRAM),
    )
    builder.adjust(1)
    return builder.as_markup()


def check_account_keyboard(i18n: Translator, *, account_id: int, platform: str, handle: str) -> InlineKeyboardMarkup:
    builder = InlineKeyboardBuilder()
    builder.button(
        text=i18n("accounts.check", handle=handle),
        callback_data=AccountCb(action=AccountAction.CHECK, platform=Platform(platform), account_id=account_id),
    )
    return builder.as_markup()


def videos_keyboard(
    i18n: Translator, *, buttons: Sequence[tuple[int, str]], page: int, pages: int
) -> InlineKeyboardMarkup:
    """One button per video (opens its card) and a ‹ page › row when there is more than one page.

    Parameters:
      buttons: (video_id, button text) in display order.
      page: the zero-based page shown; pages: how many pages there are.
    """
    builder = InlineKeyboardBuilder()
    for video_id, text in buttons:
        builder.button(text=text, callback_data=VideoCb(video_id=video_id, page=page))
    sizes = [1] * len(buttons)
    if pages > 1:
        nav = 0
        if page > 0:
            builder.button(text=i18n("common.prev"), callback_data=VideosPageCb(page=page - 1))
            nav += 1
        builder.button(text=i18n("common.page", page=page + 1, pages=pages), callback_data=VideosPageCb(page=page))
        nav += 1
        if page + 1 < pages:
            builder.button(text=i18n("common.next"), callback_data=VideosPageCb(page=page + 1))
            nav += 1
        sizes.append(nav)
    if sizes:
        builder.adjust(*sizes)
    return builder.as_markup()


def video_card_keyboard(i18n: Translator, *, page: int) -> InlineKeyboardMarkup:
    builder = InlineKeyboardBuilder()
    builder.button(text=i18n("common.back"), callback_data=VideosPageCb(page=page))
    return builder.as_markup()


def assets_keyboard(i18n: Translator, *, assets: Sequence[str]) -> InlineKeyboardMarkup:
    builder = InlineKeyboardBuilder()
    for asset in assets:
        builder.button(text=asset, callback_data=WithdrawAssetCb(asset=asset))
    builder.button(text=i18n("common.cancel"), callback_data=CancelCb())
    builder.adjust(len(assets) or 1, 1)
    return builder.as_markup()


def confirm_keyboard(i18n: Translator, *, nonce: str, confirm_cb: type = WithdrawConfirmCb) -> InlineKeyboardMarkup:
    builder = InlineKeyboardBuilder()
    builder.button(text=i18n("common.confirm"), callback_data=confirm_cb(nonce=nonce))
    builder.button(text=i18n("common.cancel"), callback_data=CancelCb())
    builder.adjust(2)
    return builder.as_markup()


def amount_choices_keyboard(i18n: Translator, *, nonce: str, choices: Sequence[Decimal]) -> InlineKeyboardMarkup:
    """One button per reading of an ambiguous amount ("600.12 RUB", "600,123.00 RUB"), then Cancel."""
    builder = InlineKeyboardBuilder()
    for index, amount in enumerate(choices):
        builder.button(
            text=i18n("withdraw.choice_button", amount=amount), callback_data=WithdrawAmountCb(nonce=nonce, index=index)
        )
    builder.button(text=i18n("common.cancel"), callback_data=CancelCb())
    builder.adjust(*([1] * len(choices)), 1)
    return builder.as_markup()
