"""Typed callback data of every inline button (scheme: docs/bot.md "Callback data").

Actions are enums, so a forged or stale value fails to unpack and the press lands in
the fallback handler ("not available") instead of any handler that acts. Ids in callback
data are never trusted: handlers re-check that the video/payout belongs to the presser.
"""

from __future__ import annotations

from enum import Enum

from aiogram.filters.callback_data import CallbackData

from zenith.domain.links import Platform


class Language(str, Enum):
    RU = "ru"
    EN = "en"


class LanguageCb(CallbackData, prefix="lang"):
    code: Language


class AccountAction(str, Enum):
    ADD = "add"
    CHECK = "check"


class AccountCb(CallbackData, prefix="acc"):
    action: AccountAction
    platform: Platform
    account_id: int = 0


class VideosPageCb(CallbackData, prefix="vl"):
    page: int


class VideoCb(CallbackData, prefix="v"):
    video_id: int
    page: int = 0


class WithdrawAssetCb(CallbackData, prefix="wa"):
    asset: str


class WithdrawAmountCb(CallbackData, prefix="wm"):
    # the readings live in the FSM state; index picks one, the nonce ties the press to that question
    nonce: str
    index: int


class WithdrawConfirmCb(CallbackData, prefix="wc"):
    # the amount/asset live in the FSM state; the nonce ties the press to that quote
    nonce: str


class CancelCb(CallbackData, prefix="x"):
    pass


class AdminSection(str, Enum):
    MODERATION = "mod"
    PAYOUTS = "pay"
    USER = "user"
    BROADCAST = "bc"
    STATUS = "st"


class AdminMenuCb(CallbackData, prefix="am"):
    section: AdminSection


class Decision(str, Enum):
    APPROVE = "ok"
    REJECT = "no"


class AdminQueue(str, Enum):
    MODERATION = "mod"
    PAYOUTS = "pay"


class AdminQueuePageCb(CallbackData, prefix="aq"):
    # page number, zero-based; the handler clamps it to the pages the queue has now
    queue: AdminQueue
    page: int


class AdminVideoCb(CallbackData, prefix="av"):
    action: Decision
    video_id: int


class AdminPayoutCb(CallbackData, prefix="ap"):
    action: Decision
    payout_id: int


class UserAction(str, Enum):
    GOLD = "gold"
    BRONZE = "bronze"
    BAN = "ban"
    UNBAN = "unban"


class AdminUserCb(CallbackData, prefix="au"):
    action: UserAction
    user_id: int


class BroadcastCb(CallbackData, prefix="ab"):
    nonce: str
