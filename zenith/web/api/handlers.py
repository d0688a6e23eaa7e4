"""The operations of /api/v1: submit a video, a creator's stats, videos and payouts, a
video's status and views history, and the admin queues."""

from __future__ import annotations

import asyncio
import hashlib
import uuid

import psycopg

from zenith.domain.api_keys import Scope
from zenith.domain.campaigns import CampaignStatus, cost_per_1000
from zenith.domain.links import LinkRejected, Platform
from zenith.domain.submissions import SubmissionStatus
from zenith.domain.videos import VideoStatus
from zenith.i18n import translate
from zenith.messaging.submissions import CreatorBlocked, submit_link
from zenith.storage import campaigns, payouts, snapshots, submissions, users, videos
from zenith.web.api import models
from zenith.web.api.endpoints import Call, Endpoint
from zenith.web.api.errors import ApiError

SNAPSHOT_LIMIT = 500


def _video(video: videos.Video) -> models.VideoSummary:
    return models.VideoSummary(
        id=video.id,
        creator_id=video.user_id,
        platform=video.platform,
        url=video.url,
        title=video.title,
        status=video.status,
        status_reason=video.status_reason,
        views=video.views,
        credited=video.credited,
        submitted_at=video.submitted_at,
        last_checked_at=video.last_checked_at,
        request_id=video.request_id,
    )


def _payout(payout: payouts.Payout) -> models.Payout:
    return models.Payout(
        id=payout.id,
        creator_id=payout.user_id,
        amount_rub=payout.amount_rub,
        asset=payout.asset,
        asset_amount=payout.asset_amount,
        status=payout.status,
        failure_reason=payout.failure_reason,
        created_at=payout.created_at,
        updated_at=payout.updated_at,
    )


async def _creator(call: Call, conn: psycopg.AsyncConnection) -> users.User:
    try:
        return await users.get(conn, call.path.creator_id)
    except users.UserNotFound:
        raise ApiError("creator_not_found", params={"id": call.path.creator_id}) from None


def submission_request_id(call: Call, creator_id: int) -> str:
    """The submission's id: the same for a resend with the same idempotency key, else new.

    Hashed from the key's public id, the creator, the link and the idempotency key, so two
    partners (or two links) using the same idempotency key never collide.
    """
    body: models.SubmitVideo = call.body
    if body.idempotency_key is None:
        return f"api:{uuid.uuid4().hex}"
    seed = "\x1f".join((call.key.key_id, str(creator_id), body.url, body.idempotency_key))
    return "api:" + hashlib.sha256(seed.encode()).hexdigest()[:32]


def _check_campaign(campaign_id: int, found: dict[int, campaigns.Campaign]) -> None:
    """Refuse at once a campaign that does not exist or takes no videos now (one not open
    yet, paused or closed). Membership and the campaign's rules are the submission
    actor's, as for the bot; it also refuses a campaign paused after this check."""
    campaign = found.get(campaign_id)
    if campaign is None:
        raise ApiError("campaign_not_found", params={"id": campaign_id})
    if campaign.status is not CampaignStatus.OPEN:
        raise ApiError(
            "campaign_not_open",
            params={"id": campaign_id},
            details=[{"field": "body.campaign_id", "problem": campaign.status.value}],
        )


async def submit_video(call: Call) -> models.SubmissionAccepted:
    campaign_id = call.body.campaign_id
    async with call.context.read() as conn:
        creator = await _creator(call, conn)
        if campaign_id is not None:
            _check_campaign(campaign_id, await campaigns.get_many(conn, [campaign_id]))
    request_id = submission_request_id(call, creator.id)
    context = call.context
    try:
        parsed = await submit_link(
            send=context.send,
            transaction=context.transaction,
            settings=context.settings,
            user=creator,
            link=call.body.url,
            request_id=request_id,
            source="api",
            campaign_id=campaign_id,
        )
    except LinkRejected as exc:
        reason = translate(call.language, f"reject.{exc.reason.value}")
        raise ApiError(
            "invalid_link", params={"reason": reason}, details=[{"field": "body.url", "problem": exc.reason.value}]
        ) from None
    except CreatorBlocked:
        raise ApiError("creator_blocked") from None
    return models.SubmissionAccepted(
        request_id=request_id, status="queued", platform=parsed.platform, url=parsed.canonical_url
    )


async def get_submission(call: Call) -> models.SubmissionState:
    request_id = call.path.request_id
    async with call.context.read() as conn:
        found = await submissions.get(conn, request_id=request_id)
        if found is None:
            raise ApiError("submission_not_found", params={"id": request_id})
        video = (
            await videos.find_by_request(conn, request_id=request_id)
            if found.status is SubmissionStatus.STORED
            else None
        )
    return models.SubmissionState(
        request_id=found.request_id,
        creator_id=found.user_id,
        url=found.url,
        platform=Platform(found.platform),
        status=found.status,
        outcome=found.outcome,
        received_at=found.received_at,
        finished_at=found.finished_at,
        video_id=video.id if video else None,
    )


async def get_creator_stats(call: Call) -> models.CreatorStats:
    async with call.context.read() as conn:
        creator = await _creator(call, conn)
    async with asyncio.timeout(call.context.db_timeout):  # cached; PostgreSQL on a miss or with Redis down
        stats = await call.context.creator_reads.creator_stats(creator.id)
    return models.CreatorStats(creator_id=creator.id, **vars(stats))


async def list_creator_videos(call: Call) -> models.VideoList:
    async with call.context.read() as conn:
        creator = await _creator(call, conn)
    async with asyncio.timeout(call.context.db_timeout):
        page = await call.context.creator_reads.video_page(creator.id, limit=call.query.limit, offset=call.query.offset)
    return models.VideoList(items=[_video(video) for video in page.items], total=page.total)


async def list_creator_payouts(call: Call) -> models.PayoutList:
    async with call.context.read() as conn:
        creator = await _creator(call, conn)
        found = await payouts.list_for_user(conn, user_id=creator.id, limit=call.query.limit)
    return models.PayoutList(items=[_payout(payout) for payout in found])


async def get_video(call: Call) -> models.VideoDetail:
    video_id = call.path.video_id
    async with call.context.read() as conn:
        try:
            video = await videos.get(conn, video_id)
        except videos.VideoNotFound:
            raise ApiError("video_not_found", params={"id": video_id}) from None
        history = await snapshots.list_for_video(conn, video_id=video_id, limit=SNAPSHOT_LIMIT)
    snapshots_out = [
        models.ViewSnapshot(taken_at=s.taken_at, views=s.views, likes=s.likes, comments=s.comments) for s in history
    ]
    return models.VideoDetail(**_video(video).model_dump(), history=snapshots_out)


async def moderation_queue(call: Call) -> models.ModerationQueue:
    async with call.context.read() as conn:
        waiting = await videos.moderation_queue(conn, limit=call.query.limit, after_id=call.query.after)
        count = await videos.count_with_status(conn, status=VideoStatus.PENDING_MODERATION)
    return models.ModerationQueue(items=[_video(video) for video in waiting], waiting=count)


async def payout_queue(call: Call) -> models.PayoutQueue:
    status = call.query.status
    async with call.context.read() as conn:
        found = await payouts.list_by_status(conn, status=status, limit=call.query.limit, after_id=call.query.after)
        count = await payouts.count_by_status(conn, status=status)
    return models.PayoutQueue(items=[_payout(payout) for payout in found], waiting=count)


async def list_campaigns(call: Call) -> models.CampaignList:
    async with call.context.read() as conn:
        found = await campaigns.list_recent(conn, limit=call.query.limit)
        spends = [await campaigns.spend(conn, campaign.id) for campaign in found]
    return models.CampaignList(
        items=[
            models.Campaign(
                id=campaign.id,
                name=campaign.name,
                status=campaign.status,
                budgeted=campaign.budgeted,
                rate_per_1000=campaign.rate_per_1000,
                platforms=sorted(Platform(platform) for platform in campaign.platforms),
                required_tags=campaign.required_tags,
                funded=spend.funded,
                spent=spend.spent,
                remaining=spend.remaining,
                videos=spend.videos,
                views=spend.views,
                cost_per_1000=cost_per_1000(spent=spend.spent, views=spend.views),
            )
            for campaign, spend in zip(found, spends, strict=True)
        ]
    )


ENDPOINTS: tuple[Endpoint, ...] = (
    Endpoint(
        "POST",
        "/creators/{creator_id}/videos",
        "submitVideo",
        "Submit a video for a creator (checked and stored by the submission worker, like a link sent to the bot)",
        Scope.SUBMIT,
        submit_video,
        models.SubmissionAccepted,
        status=202,
        path_model=models.CreatorPath,
        body_model=models.SubmitVideo,
        errors=("creator_not_found", "campaign_not_found", "campaign_not_open", "invalid_link", "creator_blocked"),
    ),
    Endpoint(
        "GET",
        "/submissions/{request_id}",
        "getSubmission",
        "A submission's outcome: waiting, stored (with the video's id), refused or failed (with the reason)",
        Scope.READ,
        get_submission,
        models.SubmissionState,
        path_model=models.SubmissionPath,
        errors=("submission_not_found",),
    ),
    Endpoint(
        "GET",
        "/creators/{creator_id}/stats",
        "getCreatorStats",
        "A creator's videos, views and money",
        Scope.READ,
        get_creator_stats,
        models.CreatorStats,
        path_model=models.CreatorPath,
        errors=("creator_not_found",),
    ),
    Endpoint(
        "GET",
        "/creators/{creator_id}/videos",
        "listCreatorVideos",
        "A creator's videos, newest first",
        Scope.READ,
        list_creator_videos,
        models.VideoList,
        path_model=models.CreatorPath,
        query_model=models.PageQuery,
        errors=("creator_not_found",),
    ),
    Endpoint(
        "GET",
        "/creators/{creator_id}/payouts",
        "listCreatorPayouts",
        "A creator's latest payouts, newest first",
        Scope.READ,
        list_creator_payouts,
        models.PayoutList,
        path_model=models.CreatorPath,
        query_model=models.LimitQuery,
        errors=("creator_not_found",),
    ),
    Endpoint(
        "GET",
        "/videos/{video_id}",
        "getVideo",
        "A video's status and views history",
        Scope.READ,
        get_video,
        models.VideoDetail,
        path_model=models.VideoPath,
        errors=("video_not_found",),
    ),
    Endpoint(
        "GET",
        "/campaigns",
        "listCampaigns",
        "Campaigns, newest first, with their budget, spend, views and cost per 1,000 views",
        Scope.READ,
        list_campaigns,
        models.CampaignList,
        query_model=models.LimitQuery,
    ),
    Endpoint(
        "GET",
        "/admin/moderation",
        "getModerationQueue",
        "Videos waiting for moderation, oldest first",
        Scope.ADMIN,
        moderation_queue,
        models.ModerationQueue,
        query_model=models.QueueQuery,
    ),
    Endpoint(
        "GET",
        "/admin/payouts",
        "getPayoutQueue",
        "Open payouts in one status, oldest first",
        Scope.ADMIN,
        payout_queue,
        models.PayoutQueue,
        query_model=models.PayoutQueueQuery,
    ),
)
