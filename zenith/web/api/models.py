"""Request and response bodies of the HTTP API as pydantic models.

They validate what comes in and shape what goes out, and the OpenAPI document is built
from their JSON Schema (``openapi.py``): what the document promises is what the code checks.
Money is a decimal string ("1234.50"), never a float.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Annotated, Literal, get_args

from pydantic import BaseModel, ConfigDict, Field, PlainSerializer

from zenith.domain.campaigns import CampaignStatus
from zenith.domain.links import MAX_LINK_LENGTH, Platform
from zenith.domain.payouts import OPEN_STATUSES, PayoutStatus
from zenith.domain.submissions import SubmissionStatus
from zenith.domain.videos import VideoStatus

# ids are PostgreSQL bigints
MAX_ID = 2**63 - 1
Id = Annotated[int, Field(ge=1, le=MAX_ID)]
# RUB with two decimals, written as a string so no client reads it as a float
Money = Annotated[
    Decimal,
    PlainSerializer(lambda value: f"{value:.2f}", return_type=str),
    Field(json_schema_extra={"pattern": r"^-?\d+\.\d{2}$"}),
]
# the open statuses in the order payouts go through them (the document must not change between runs);
# spelled out so the type checker reads it, and checked against the domain's OPEN_STATUSES
OpenPayoutStatus = Literal[PayoutStatus.REQUESTED, PayoutStatus.APPROVED, PayoutStatus.SENDING]
if set(get_args(OpenPayoutStatus)) != OPEN_STATUSES:
    raise RuntimeError("OpenPayoutStatus must list exactly zenith.domain.payouts.OPEN_STATUSES")


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


# ---- requests -------------------------------------------------------------------------


class CreatorPath(Strict):
    creator_id: Id = Field(description="The creator's id (users.id)")


class VideoPath(Strict):
    video_id: Id = Field(description="The video's id")


class LimitQuery(Strict):
    limit: int = Field(20, ge=1, le=100, description="Items at most")


class SubmissionPath(Strict):
    request_id: str = Field(
        min_length=1,
        max_length=128,
        pattern=r"^[A-Za-z0-9:_.-]+$",
        description="The request_id a submission was answered with",
    )


class PageQuery(LimitQuery):
    offset: int = Field(0, ge=0, le=100_000, description="Items to skip")


class QueueQuery(Strict):
    limit: int = Field(20, ge=1, le=100, description="Items per page")
    after: int = Field(0, ge=0, le=MAX_ID, description="Id of the last item of the previous page (0: first page)")


class PayoutQueueQuery(QueueQuery):
    status: OpenPayoutStatus = Field(PayoutStatus.REQUESTED, description="Which open payouts to list")


class SubmitVideo(Strict):
    url: str = Field(
        min_length=1,
        max_length=MAX_LINK_LENGTH,
        description="The video's link on a supported platform (TikTok, YouTube, Instagram)",
    )
    idempotency_key: str | None = Field(
        None,
        min_length=1,
        max_length=64,
        pattern=r"^[A-Za-z0-9_.:-]+$",
        description="Resending the same link for the same creator with the same key submits it once",
    )
    campaign_id: Id | None = Field(
        None,
        description=(
            "The campaign the video is for; the creator must have joined it and its rules apply, as in the bot. "
            "Left out: the only open campaign the creator joined, else the default program"
        ),
    )


# ---- responses ------------------------------------------------------------------------


class ErrorDetail(BaseModel):
    field: str
    problem: str


class ErrorBody(BaseModel):
    code: str = Field(description="Stable machine-readable code (see docs/api.md)")
    message: str = Field(description="What went wrong, in the Accept-Language language (ru or en)")
    details: list[ErrorDetail]


class Error(BaseModel):
    error: ErrorBody


class SubmissionAccepted(BaseModel):
    request_id: str = Field(description="The submission's id; the stored video carries it")
    status: Literal["queued"]
    platform: Platform
    url: str = Field(description="The link as it will be checked")


class SubmissionState(BaseModel):
    request_id: str
    creator_id: int
    url: str = Field(description="The link as it is checked")
    platform: Platform
    status: SubmissionStatus = Field(
        description="received: waiting for the worker; stored: the video exists (video_id); refused or failed: see outcome"
    )
    outcome: str | None = Field(
        description="Why it was refused or failed (duplicate, not_owner, not_found, bad_link, unsafe_link, banned, unreachable, ...)"
    )
    received_at: datetime
    finished_at: datetime | None
    video_id: int | None = Field(description="The stored video's id (status stored)")


class CreatorStats(BaseModel):
    creator_id: int
    videos: int
    views: int
    earned: Money = Field(description="Every earning credited, RUB")
    held: Money = Field(description="Earnings held for review, RUB")
    available: Money = Field(description="What can be withdrawn now, RUB")
    reserved: Money = Field(description="Held for payouts in progress, RUB")
    paid_out: Money = Field(description="Paid out so far, RUB")


class VideoSummary(BaseModel):
    id: int
    creator_id: int
    platform: Platform
    url: str
    title: str | None
    status: VideoStatus
    status_reason: str | None
    views: int
    credited: Money
    submitted_at: datetime
    last_checked_at: datetime | None
    request_id: str | None


class ViewSnapshot(BaseModel):
    taken_at: datetime
    views: int
    likes: int
    comments: int


class VideoDetail(VideoSummary):
    history: list[ViewSnapshot] = Field(description="View counts over time, oldest first (at most 500)")


class VideoList(BaseModel):
    items: list[VideoSummary]
    total: int


class Payout(BaseModel):
    id: int
    creator_id: int
    amount_rub: Money
    asset: str
    asset_amount: Decimal | None = Field(description="Crypto amount sent, as a decimal string")
    status: PayoutStatus
    failure_reason: str | None
    created_at: datetime
    updated_at: datetime


class PayoutList(BaseModel):
    items: list[Payout]


class ModerationQueue(BaseModel):
    items: list[VideoSummary]
    waiting: int = Field(description="Videos waiting for moderation in all")


class Campaign(BaseModel):
    id: int
    name: str
    status: CampaignStatus
    budgeted: bool = Field(description="False only for the default program, paid without a budget")
    rate_per_1000: Money | None = Field(description="RUB per 1,000 views; null: the program's rate card")
    platforms: list[Platform]
    required_tags: list[str] = Field(description="Hashtags / mentions a video's title or description must carry")
    funded: Money = Field(description="Put into the budget, minus what went back on close, RUB")
    spent: Money = Field(description="Credited to creators (held growth included, reversals excluded), RUB")
    remaining: Money = Field(description="Left in the budget, RUB (0.00 for the default program)")
    videos: int
    views: int
    cost_per_1000: Money | None = Field(description="Spent per 1,000 views, RUB; null before any view")


class CampaignList(BaseModel):
    items: list[Campaign]


class PayoutQueue(BaseModel):
    items: list[Payout]
    waiting: int = Field(description="Payouts in this status in all")
