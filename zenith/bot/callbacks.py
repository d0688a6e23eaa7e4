"""Typed callback data of every inline button (scheme: docs/bot.md "Callback data").

Actions are enums and numbers are bounded, so a forged or stale value fails to unpack
and the press lands in the fallback handler ("not available") instead of any handler
that acts: no handler ever sends PostgreSQL a number out of its range (a forged
``vl:99999999999999999999`` would overflow bigint). Ids in callback data are never
trusted: handlers re-check that the video/payout belongs to the presser.
"""

from __future__ import annotations

from enum import Enum
from typing import Annotated

from aiogram.filters.callback_data import CallbackData
from pydantic import Field

from zenith.domain.links import Platform

BIGINT_MAX = 2**63 - 1  # PostgreSQL bigint (bigserial ids)
# More pages than any listing has: page * page size must stay far inside bigint.
PAGE_MAX = 1_000_000

RowId = Annotated[int, Field(ge=1, le=BIGINT_MAX)]
OptionalRowId = Annotated[int, Field(ge=0, le=BIGINT_MAX)]  # 0: none
Page = Annotated[int, Field(ge=0, le=PAGE_MAX)]


class Language(str, Enum):
    RU = "ru"
    EN = "en"


class LanguageCb(CallbackData, prefix="lang"):
    code: Language


class DigestSwitch(str, Enum):
    ON = "on"
    OFF = "off"


class DigestCb(CallbackData, prefix="dg"):
    # what the press asks for: the daily earnings digest on or off
    switch: DigestSwitch


class AccountAction(str, Enum):
    ADD = "add"
    CHECK = "check"


class AccountCb(CallbackData, prefix="acc"):
    action: AccountAction
    platform: Platform
    account_id: OptionalRowId = 0


class VideosPageCb(CallbackData, prefix="vl"):
    page: Page


class VideoCb(CallbackData, prefix="v"):
    video_id: RowId
    page: Page = 0


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
    REVIEW = "rev"
    CAMPAIGNS = "cmp"


class AdminMenuCb(CallbackData, prefix="am"):
    section: AdminSection


class Decision(str, Enum):
    APPROVE = "ok"
    REJECT = "no"


class AdminQueue(str, Enum):
    MODERATION = "mod"
    PAYOUTS = "pay"
    REVIEW = "rev"


class AdminQueuePageCb(CallbackData, prefix="aq"):
    # page number, zero-based; the handler clamps it to the pages the queue has now
    queue: AdminQueue
    page: Page


class AdminVideoCb(CallbackData, prefix="av"):
    action: Decision
    video_id: RowId


class HoldAction(str, Enum):
    RELEASE = "ok"
    REVERSE = "no"
    RELEASE_ALL = "allok"  # every open hold of the hold's creator
    REVERSE_ALL = "allno"


class AdminHoldCb(CallbackData, prefix="ah"):
    action: HoldAction
    hold_id: int


class AdminPayoutCb(CallbackData, prefix="ap"):
    action: Decision
    payout_id: RowId


class UserAction(str, Enum):
    GOLD = "gold"
    BRONZE = "bronze"
    BAN = "ban"
    UNBAN = "unban"


class AdminUserCb(CallbackData, prefix="au"):
    action: UserAction
    user_id: RowId


class BroadcastCb(CallbackData, prefix="ab"):
    nonce: str


class CampaignsPageCb(CallbackData, prefix="cl"):
    # a page of the open campaigns, zero-based; the handler checks it exists now
    page: Page


class CampaignJoinCb(CallbackData, prefix="cj"):
    # the page it was pressed on, to show that page again with the campaign marked joined
    campaign_id: RowId
    page: Page = 0


class CampaignPickCb(CallbackData, prefix="cs"):
    # the links wait in Redis under the nonce; campaign_id must be one the presser joined (or the default)
    nonce: Annotated[str, Field(pattern=r"^[A-Za-z0-9_-]{1,24}$")]  # secrets.token_urlsafe(9): 12 characters
    campaign_id: RowId


# --- admins' campaign screens (handlers/admin/campaign_*.py) ---


class CampaignAction(str, Enum):
    SHOW = "show"
    FUND = "fund"
    OPEN = "open"
    PAUSE = "pause"
    RESUME = "resume"
    CLOSE = "close"
    EDIT = "edit"


class AdminCampaignCb(CallbackData, prefix="ac"):
    action: CampaignAction
    campaign_id: RowId


class AdminCampaignPageCb(CallbackData, prefix="acl"):
    page: Page


class AdminCampaignNewCb(CallbackData, prefix="acn"):
    """The admin list's "new campaign" button: it carries nothing but its prefix."""


class CampaignField(str, Enum):
    RATE = "rate"
    PLATFORMS = "platforms"
    TAGS = "tags"
    MIN_VIEWS = "min_views"
    CAP = "cap"
    MIN_ACCOUNT_AGE = "min_account_age_days"
    MIN_FOLLOWERS = "min_followers"
    STARTS = "starts"
    ENDS = "ends"


class AdminCampaignEditCb(CallbackData, prefix="ace"):
    field: CampaignField
    campaign_id: RowId


class AdminCampaignConfirmCb(CallbackData, prefix="acf"):
    # what is confirmed (a new campaign, a funding, a close) lives in the FSM state; the nonce ties the press to it
    nonce: str


class AdminCampaignAmountCb(CallbackData, prefix="aca"):
    # the readings of an ambiguous amount live in the FSM state; index picks one
    nonce: str
    index: Annotated[int, Field(ge=0, le=9)]
