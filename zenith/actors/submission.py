"""Submission: a creator's link becomes a stored video; a linked account gets verified.

``submit_video(user_id, url, request_id)``: parse the link (domain.links), resolve a
short link (safe HTTP), refuse a video already submitted (by anyone), fetch its
metadata and check it belongs to one of the creator's verified accounts, store it
(approved for auto-approve tiers, else pending moderation), send its first check, and
tell the creator. The message is a wake-up for the 'received' row the intake stored
(`storage.submissions`): the outcome ends that row (stored / refused / failed) in the
transaction that stages the creator's notice in the outbox (`notice_outbox`), so a
worker dying after the commit only delays the notice (the clock relays it), and a
message lost before that is re-sent by the clock. Idempotency: the video row is unique
per ``request_id`` — a resent message finds it and only repeats the follow-ups (the
first check, a notification with dedup key ``submission:{request_id}``), which are
themselves idempotent; a submission already refused or failed is not answered twice.

``verify_account(account_id)``: fetch the profile / channel description and look for
the account's one-time code; mark the account verified or failed and tell the creator
(the notice staged in the outbox in the marking transaction). Marking is idempotent (a
verified account stays verified).
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta, timezone

import psycopg
from opentelemetry import trace
from psycopg_pool import AsyncConnectionPool

from zenith.actors.attempts import current_message_id, is_last_attempt, next_retry_within_ms
from zenith.actors.notice_outbox import publish
from zenith.actors.platform_answers import fetch_stats
from zenith.actors.platform_pause import pause_platform, platform_pause_ms
from zenith.actors.registry import ActorSpec
from zenith.actors.runtime import Runtime, get_runtime
from zenith.actors.trust_gate import trust_policy
from zenith.domain.campaigns import (
    DEFAULT_CAMPAIGN_ID,
    CampaignRefusal,
    account_refusal,
    needs_account_figures,
    submission_refusal,
)
from zenith.domain.links import LinkRejected, LinkRejectReason, ParsedLink, Platform, parse_link, with_author
from zenith.domain.submissions import SubmissionStatus, is_answered
from zenith.domain.tiers import TierPolicy
from zenith.domain.trust import Signal, SignalKind
from zenith.domain.users import UserStatus
from zenith.domain.verification import InvalidCode, code_present
from zenith.domain.videos import VideoStatus, initial_status, is_tracked
from zenith.messaging.contract import CHECK_VIDEOS, NOTIFY, SUBMIT_VIDEO, VERIFY_ACCOUNT
from zenith.platforms.base import VideoStats
from zenith.platforms.errors import BlockedError, ConfigurationError, PermanentError
from zenith.platforms.safe_http import DisallowedUrlError, UnsafeUrlError
from zenith.storage import accounts, campaigns, outbox, submissions, trust_signals, users, videos
from zenith.storage.db import unit_of_work
from zenith.telemetry.attributes import PLATFORM, current_trace_id_hex
from zenith.telemetry.metrics import get_metrics
from zenith.telemetry.subject import tag_video

logger = logging.getLogger(__name__)

# The first check is sent at once; if that message is lost the clock finds the video
# due after this long (the normal path overwrites next_check_at long before).
FIRST_CHECK_SAFETY_NET = timedelta(minutes=5)
# the notice of a stored video, by its status
STATUS_NOTICES = {
    VideoStatus.APPROVED: "notify.video.approved",
    VideoStatus.PENDING_MODERATION: "notify.video.accepted",
}


class SubmissionRefused(Exception):
    """A submission ends here; ``key`` is the notification telling the creator why.

    Parameters:
      key: i18n key of the notification.
      outcome: label for the submissions metric.
      params: notification parameters besides the link.
    """

    def __init__(self, key: str, *, outcome: str, params: dict | None = None) -> None:
        super().__init__(key)
        self.key = key
        self.outcome = outcome
        self.params = params or {}


def _notify(runtime: Runtime, user_id: int, key: str, params: dict, dedup_key: str | None) -> None:
    runtime.send(NOTIFY, user_id, key, params, dedup_key, None)


async def _resolve(runtime: Runtime, url: str) -> ParsedLink:
    photo_posts = runtime.settings.pay_tiktok_photo_posts
    try:
        parsed = parse_link(url, photo_posts=photo_posts)
        if parsed.needs_resolving:
            resolver = await runtime.link_resolver()
            parsed = parse_link(await resolver.resolve_short_link(parsed.canonical_url), photo_posts=photo_posts)
    except DisallowedUrlError as exc:  # the short link redirects off TikTok / YouTube
        raise SubmissionRefused(
            "notify.video.unsafe_link", outcome="unsafe_link", params={"host": exc.host or "?"}
        ) from None
    except LinkRejected as exc:
        if exc.reason is LinkRejectReason.PHOTO_POST:  # a short link to a photo post
            raise SubmissionRefused("notify.video.photo_post", outcome="photo_post") from None
        raise SubmissionRefused("notify.video.not_found", outcome="bad_link") from None
    except (UnsafeUrlError, PermanentError):
        raise SubmissionRefused("notify.video.not_found", outcome="bad_link") from None
    if parsed.video_id is None:  # a short link pointing at another short link
        raise SubmissionRefused("notify.video.not_found", outcome="bad_link")
    return parsed


def _not_configured(platform: str, exc: ConfigurationError) -> dict:
    """Log the operator's part; the creator's notice parameters naming the platform."""
    logger.error("%s checks are not configured: %s", platform, exc)
    return {"platform_key": f"platform.{platform}"}


async def _fetch_stats(runtime: Runtime, parsed: ParsedLink) -> VideoStats:
    try:
        result = (await fetch_stats(runtime, parsed.platform.value, [parsed.resolved_id]))[parsed.resolved_id]
        if isinstance(result, PermanentError):
            raise SubmissionRefused("notify.video.not_found", outcome="not_found")
        if isinstance(result, Exception):
            raise result  # transient / unparseable this time: Dramatiq retries with back-off
    except ConfigurationError as exc:  # no API key (or one the platform refuses): retrying cannot help
        params = _not_configured(parsed.platform.value, exc)
        raise SubmissionRefused(
            "notify.video.platform_not_configured", outcome="not_configured", params=params
        ) from None
    return result


def _owner_account(verified: list[accounts.PlatformAccount], stats: VideoStats) -> accounts.PlatformAccount | None:
    """The creator's verified account that published the video, matched on the platform's ids.

    The channel id (YouTube) or user id / handle (TikTok, Instagram) comes from the platform's own
    answer, never from the submitted URL, whose @handle anyone can type.
    """
    for account in verified:
        if account.platform != stats.platform:
            continue
        if account.external_id and stats.author_id and account.external_id == stats.author_id:
            return account
        if (
            stats.platform in (Platform.TIKTOK, Platform.INSTAGRAM)
            and stats.author
            and account.handle == accounts.normalize_handle(stats.author)
        ):
            return account
    return None


async def submit_video(user_id: int, url: str, request_id: str, campaign_id: int | None = None) -> None:
    """Store the video at ``url`` for user ``user_id`` (users.id) once per ``request_id``.

    Parameters:
      user_id: the creator's id in our database.
      url: the link as the creator sent it.
      request_id: unique per submission (the bot makes it); makes a resend a no-op.
      campaign_id: the campaign the creator picked; None: the only open campaign they
        joined, else the default program. The campaign's rules (open, platforms,
        required hashtags / mentions in the platform's title) are checked here.

    A platform that keeps failing (5xx, timeouts) makes Dramatiq retry the message; when
    the last try fails too, the creator is asked to send the link again (nothing was
    stored: the video row is written in one transaction after the platform answered).
    """
    runtime = get_runtime()
    try:
        await _submit_video(runtime, user_id, url, request_id, campaign_id)
    except Exception:
        if is_last_attempt(runtime.broker):
            await _give_up(runtime, user_id, url, request_id)
        else:
            await _expect_retry(runtime, request_id)
        raise


async def _give_up(runtime: Runtime, user_id: int, url: str, request_id: str) -> None:
    """The last try failed: unless the video got stored, ask the creator to resend the link
    (the submission ends as failed in the transaction that stages the notice)."""
    try:
        pool = await runtime.db()
        async with unit_of_work(pool) as conn:
            stored = await videos.find_by_request(conn, request_id=request_id)
            staged = (
                None
                if stored is not None
                else await _end(
                    conn,
                    user_id,
                    request_id,
                    "notify.video.submit_failed",
                    {"url": url},
                    status=SubmissionStatus.FAILED,
                    outcome="unreachable",
                )
            )
        await publish(runtime, [staged])
    except Exception:
        logger.exception("submission %s: could not tell user %s it failed", request_id, user_id)


async def _expect_retry(runtime: Runtime, request_id: str) -> None:
    """Dramatiq retries this message later: the clock must not take it for lost meanwhile."""
    within_ms = next_retry_within_ms(runtime.broker)
    if within_ms is not None:
        await _postpone(runtime, request_id, delay_ms=within_ms)


async def _postpone(runtime: Runtime, request_id: str, *, delay_ms: int) -> None:
    """The submission's next message is due in ``delay_ms``; best effort (at worst the clock re-sends early)."""
    try:
        pool = await runtime.db()
        async with pool.connection() as conn:
            await submissions.postpone(
                conn, request_id=request_id, until=datetime.now(timezone.utc) + timedelta(milliseconds=delay_ms)
            )
    except Exception:
        logger.warning(
            "submission %s: next wake-up not recorded; the clock may re-send it early", request_id, exc_info=True
        )


async def _end(
    conn: psycopg.AsyncConnection,
    user_id: int,
    request_id: str,
    key: str,
    params: dict,
    *,
    status: SubmissionStatus,
    outcome: str,
) -> outbox.OutboxEntry | None:
    """End the submission (in the caller's transaction) and stage the creator's notice with it."""
    await submissions.finish(conn, request_id=request_id, status=status, outcome=outcome)
    return await outbox.add(conn, user_id=user_id, key=key, params=params, dedup_key=f"submission:{request_id}")


async def _refuse(runtime: Runtime, user_id: int, request_id: str, key: str, params: dict, *, outcome: str) -> None:
    pool = await runtime.db()
    async with unit_of_work(pool) as conn:
        staged = await _end(conn, user_id, request_id, key, params, status=SubmissionStatus.REFUSED, outcome=outcome)
    await publish(runtime, [staged])  # None: answered by an earlier delivery (sent, or relayed by the clock)


async def _submit_video(runtime: Runtime, user_id: int, url: str, request_id: str, campaign_id: int | None) -> None:
    pool = await runtime.db()
    dedup = f"submission:{request_id}"
    async with pool.connection() as conn:
        user = await users.get(conn, user_id)
        received = await submissions.get(conn, request_id=request_id)
        if received is not None and received.status is SubmissionStatus.RECEIVED:
            # handled from now: the clock counts it lost only SUBMISSION_RESEND_SECONDS after this
            await submissions.postpone(conn, request_id=request_id, until=datetime.now(timezone.utc))
        stored = (
            await videos.find_by_request(conn, request_id=request_id)
            if received and received.status is SubmissionStatus.STORED
            else None
        )
    if received is not None and is_answered(received.status):
        return  # answered already; its notice is in the outbox
    if received is not None and received.campaign_id is not None:
        campaign_id = received.campaign_id  # the row is what was acknowledged: its campaign wins
    if stored is not None:  # a duplicate wake-up: only the follow-ups, no platform call
        tag_video(stored.id, stored.platform)
        _follow_up(runtime, stored, dedup)
        return
    if user.status is UserStatus.BANNED:
        await _refuse(runtime, user_id, request_id, "notify.user.banned", {}, outcome="banned")
        return
    try:
        parsed = await _resolve(runtime, url)
        trace.get_current_span().set_attribute(PLATFORM, parsed.platform.value)
        redis = await runtime.redis()
        paused_ms = await platform_pause_ms(redis, prefix=runtime.namespace, platform=parsed.platform.value)
        if paused_ms:
            await _postpone(runtime, request_id, delay_ms=paused_ms)
            runtime.send(SUBMIT_VIDEO, user_id, url, request_id, campaign_id, delay_ms=paused_ms)
            return
        async with pool.connection() as conn:
            existing = await videos.find(conn, platform=parsed.platform.value, external_id=parsed.resolved_id)
        if existing is not None and existing.request_id == request_id:
            tag_video(existing.id, existing.platform)
            _follow_up(runtime, existing, dedup)  # this very message was handled before
            return
        if existing is not None:
            if existing.user_id != user.id:
                await _record_duplicate(pool, user=user, existing=existing, request_id=request_id)
            raise SubmissionRefused("notify.video.duplicate", outcome="duplicate")
        campaign = await _campaign_for(pool, user_id=user.id, campaign_id=campaign_id)
        try:
            stats = await _fetch_stats(runtime, parsed)
            _check_rules(campaign, parsed.platform, stats)
            await _check_account_rules(runtime, pool, user=user, campaign=campaign, stats=stats)
        except BlockedError as exc:
            pause = await pause_platform(
                redis, prefix=runtime.namespace, platform=parsed.platform.value, until=exc.until, reason=str(exc)
            )
            await _postpone(runtime, request_id, delay_ms=pause)
            runtime.send(SUBMIT_VIDEO, user_id, url, request_id, campaign_id, delay_ms=pause)
            return
        # shown back with the author the platform reports (m.tiktok.com/v/ID and embeds carry none)
        parsed = with_author(parsed, stats.author)
        video, staged = await _store(
            runtime, user=user, parsed=parsed, stats=stats, request_id=request_id, dedup=dedup, campaign_id=campaign.id
        )
    except SubmissionRefused as refused:
        # the refusal ends the submission with its notice staged: a redelivery is quiet
        get_metrics().video_submissions.labels(platform=_platform_label(url), status=refused.outcome).inc()
        await _refuse(
            runtime, user_id, request_id, refused.key, {"url": url, **refused.params}, outcome=refused.outcome
        )
        return
    get_metrics().video_submissions.labels(platform=video.platform, status=video.status).inc()
    # the acceptance is queued before the first check, so it reaches the creator before the credit
    await publish(runtime, [staged])
    _first_check(runtime, video)


async def _campaign_for(pool: AsyncConnectionPool, *, user_id: int, campaign_id: int | None) -> campaigns.Campaign:
    """The campaign the video goes to: the one picked (which the creator must have joined),
    else the only open campaign they joined, else the default program."""
    async with pool.connection() as conn:
        if campaign_id is None or campaign_id == DEFAULT_CAMPAIGN_ID:
            joined = await campaigns.joined_open(conn, user_id) if campaign_id is None else []
            return joined[0] if len(joined) == 1 else await campaigns.get(conn, DEFAULT_CAMPAIGN_ID)
        try:
            campaign = await campaigns.get(conn, campaign_id)
        except campaigns.CampaignNotFound:
            raise SubmissionRefused(
                "notify.video.campaign_not_open", outcome="campaign_not_open", params={"campaign": str(campaign_id)}
            ) from None
        if campaign.budgeted and not await campaigns.is_member(conn, campaign_id=campaign.id, user_id=user_id):
            raise SubmissionRefused(
                "notify.video.campaign_not_joined", outcome="campaign_not_joined", params={"campaign": campaign.name}
            )
    return campaign


def _check_rules(campaign: campaigns.Campaign, platform: Platform, stats: VideoStats) -> None:
    """Refuse a video the campaign does not take, judged on the platform's own answer."""
    refused = submission_refusal(campaign.terms, status=campaign.status, platform=platform, text=stats.title)
    if refused is None:
        return
    reason, detail = refused
    key = {
        CampaignRefusal.NOT_OPEN: "notify.video.campaign_not_open",
        CampaignRefusal.PLATFORM: "notify.video.campaign_platform",
        CampaignRefusal.MISSING_TAG: "notify.video.campaign_tag",
    }[reason]
    raise SubmissionRefused(
        key, outcome=f"campaign_{reason.value}", params={"campaign": campaign.name, "detail": detail}
    )


# the notice of each account-rule refusal (domain.campaigns.account_refusal)
ACCOUNT_RULE_NOTICES = {
    CampaignRefusal.ACCOUNT_AGE: "creator_campaigns.refusal.account_age",
    CampaignRefusal.FOLLOWERS: "creator_campaigns.refusal.followers",
    CampaignRefusal.FIGURE_HIDDEN: "creator_campaigns.refusal.hidden",
}


async def _check_account_rules(
    runtime: Runtime, pool: AsyncConnectionPool, *, user: users.User, campaign: campaigns.Campaign, stats: VideoStats
) -> None:
    """Refuse a video whose account is younger or has fewer followers than the campaign asks,
    judged on the platform's profile answer (one more call, only for a campaign with such rules).

    The account is the creator's verified one that published the video; without one the
    video is refused as not theirs when it is stored, so nothing is asked here.
    """
    platform = Platform(stats.platform)
    if not needs_account_figures(campaign.terms, platform):
        return
    async with pool.connection() as conn:
        owner = _owner_account(await accounts.list_verified(conn, user_id=user.id), stats)
    if owner is None:
        return
    try:
        adapter = await runtime.platform(platform.value)
        # a YouTube channel by its UC id; TikTok and Instagram profiles by their handle
        info = await adapter.fetch_account(
            owner.external_id if platform is Platform.YOUTUBE and owner.external_id else owner.handle
        )
    except ConfigurationError as exc:
        params = _not_configured(platform.value, exc)
        raise SubmissionRefused(
            "notify.video.platform_not_configured", outcome="not_configured", params=params
        ) from None
    except PermanentError:  # the profile is gone: its figures cannot be judged
        raise SubmissionRefused("notify.video.not_found", outcome="not_found") from None
    refused = account_refusal(
        campaign.terms,
        platform=platform,
        created_at=info.created_at,
        followers=info.followers,
        now=datetime.now(timezone.utc),
    )
    if refused is None:
        return
    reason, figures = refused
    params = {"campaign": campaign.name, **figures}
    if reason is CampaignRefusal.FIGURE_HIDDEN:
        params = {"campaign": campaign.name, "what_key": f"creator_campaigns.refusal.what_{figures['what']}"}
    raise SubmissionRefused(ACCOUNT_RULE_NOTICES[reason], outcome=f"campaign_{reason.value}", params=params)


async def _store(
    runtime: Runtime,
    *,
    user: users.User,
    parsed: ParsedLink,
    stats: VideoStats,
    request_id: str,
    dedup: str,
    campaign_id: int = DEFAULT_CAMPAIGN_ID,
) -> tuple[videos.Video, outbox.OutboxEntry | None]:
    """Insert the video and stage its notice in one transaction; (video, staged notice or None)."""
    pool = await runtime.db()
    policy = TierPolicy.for_tier(user.tier, gold_auto_payout_limit_rub=runtime.settings.gold_auto_payout_limit_rub)
    now = datetime.now(timezone.utc)
    async with unit_of_work(pool) as conn:
        # Gold's automatic approval only while the creator's risk is low
        status = initial_status(auto_approve=policy.auto_approve_videos and await _low_risk(runtime, conn, user))
        owner = _owner_account(await accounts.list_verified(conn, user_id=user.id), stats)
        if owner is None:
            raise SubmissionRefused("notify.video.not_owner", outcome="not_owner")
        try:
            video, _ = await videos.insert(
                conn,
                platform=parsed.platform.value,
                external_id=parsed.resolved_id,
                user_id=user.id,
                url=parsed.canonical_url,
                request_id=request_id,
                account_id=owner.id,
                title=stats.title,
                author=stats.author,
                status=status,
                published_at=stats.published_at,
                next_check_at=now + FIRST_CHECK_SAFETY_NET if is_tracked(status) else None,
                trace_id=current_trace_id_hex(),
                campaign_id=campaign_id,
            )
        except videos.DuplicateVideo:
            raise SubmissionRefused("notify.video.duplicate", outcome="duplicate") from None
        if is_tracked(video.status):
            # its first check is sent next; claimed now, so a lost message is re-sent by the
            # clock after CHECK_RESEND_SECONDS (the 5-minute safety net stays as a backstop)
            await videos.claim_for_check(conn, video_id=video.id, now=now)
        await submissions.finish(conn, request_id=request_id, status=SubmissionStatus.STORED)
        key = STATUS_NOTICES.get(video.status)
        staged = (
            await outbox.add(conn, user_id=video.user_id, key=key, params={"url": video.url}, dedup_key=dedup)
            if key
            else None
        )
    await runtime.creators_changed(user.id)  # a new video in their list and stats: committed above
    tag_video(video.id, video.platform)  # this span, and the check and notices sent next, are about it
    return video, staged


async def _record_duplicate(
    pool: AsyncConnectionPool, *, user: users.User, existing: videos.Video, request_id: str
) -> None:
    """Another creator's video sent by this one: a signal with both sides, once per submission."""
    signal = Signal(
        SignalKind.DUPLICATE_VIDEO,
        {
            "platform": existing.platform,
            "external_id": existing.external_id,
            "video_id": existing.id,
            "owner_user_id": existing.user_id,
        },
    )
    async with unit_of_work(pool) as conn:
        await trust_signals.record(
            conn, signal, user_id=user.id, video_id=existing.id, dedup_key=f"duplicate:{request_id}"
        )


async def _low_risk(runtime: Runtime, conn: psycopg.AsyncConnection, user: users.User) -> bool:
    """Gold's automatic approval holds only while the creator's risk is low (docs/trust.md)."""
    trust = trust_policy(runtime.settings)
    risk = await trust_signals.creator_risk(conn, user.id, rules=trust.risk, window=trust.risk_window)
    return risk.low


def _first_check(runtime: Runtime, video: videos.Video) -> None:
    """Send an approved video's first check (if lost, the safety net makes it due)."""
    if is_tracked(video.status) and video.last_checked_at is None:
        runtime.send(CHECK_VIDEOS, [video.id])


def _follow_up(runtime: Runtime, video: videos.Video, dedup: str) -> None:
    """A redelivered submission's next steps again; safe to repeat (the check is idempotent,
    the notice has the outbox row's dedup key, so it reaches the creator once)."""
    _first_check(runtime, video)
    key = STATUS_NOTICES.get(video.status)
    if key is not None:
        _notify(runtime, video.user_id, key, {"url": video.url}, dedup)


def _platform_label(url: str) -> str:
    try:
        return parse_link(url, photo_posts=True).platform.value
    except LinkRejected:
        return "unknown"


async def verify_account(account_id: int) -> None:
    """Look for account ``account_id``'s one-time code in its profile; mark it verified or failed.

    Parameters:
      account_id: platform_accounts.id, in state pending or failed (a re-check).

    Outcomes, each told to the creator: verified; code not in the profile (failed);
    profile not found (failed); verified by another user first (failed); the platform
    not answering: Dramatiq retries, the account stays as it is, and after the last try
    the creator is asked to check again later.
    """
    runtime = get_runtime()
    pool = await runtime.db()
    async with pool.connection() as conn:
        account = await accounts.get(conn, account_id)
    params = {"handle": f"@{account.handle}"}
    if account.state == "verified":
        _notify(runtime, account.user_id, "notify.account.verified", params, f"account:{account.id}:verified")
        return
    redis = await runtime.redis()
    paused_ms = await platform_pause_ms(redis, prefix=runtime.namespace, platform=account.platform)
    if paused_ms:
        runtime.send(VERIFY_ACCOUNT, account_id, delay_ms=paused_ms)
        return
    try:
        adapter = await runtime.platform(account.platform)
        info = await adapter.fetch_account(account.external_id or account.handle)
    except ConfigurationError as exc:  # no API key: the account stays as it is
        params = {**params, **_not_configured(account.platform, exc)}
        _notify(
            runtime,
            account.user_id,
            "notify.account.platform_not_configured",
            params,
            _check_dedup(account, "not_configured"),
        )
        return
    except BlockedError as exc:
        pause = await pause_platform(
            redis, prefix=runtime.namespace, platform=account.platform, until=exc.until, reason=str(exc)
        )
        runtime.send(VERIFY_ACCOUNT, account_id, delay_ms=pause)
        return
    except PermanentError:
        info = None
    except Exception:
        # transient after the adapter's own retries: Dramatiq tries again; nothing is written
        if is_last_attempt(runtime.broker):
            _notify(
                runtime, account.user_id, "notify.account.check_failed", params, _check_dedup(account, "unreachable")
            )
        raise
    key, dedup, staged = await _record_verification(runtime, account, info, params=params)
    if staged is not None or dedup is not None:
        await publish(runtime, [staged])  # None: staged by an earlier delivery, sent or relayed from there
    else:  # outside a Dramatiq message there is no dedup key to stage under
        _notify(runtime, account.user_id, key, params, None)


def _check_dedup(account: accounts.PlatformAccount, outcome: str) -> str | None:
    """One notice per check message (a redelivery keeps the message id); a new check
    the creator asks for is a new message and is answered again."""
    message_id = current_message_id()
    return f"account:{account.id}:{outcome}:{message_id}" if message_id else None


async def _record_verification(
    runtime: Runtime, account: accounts.PlatformAccount, info, *, params: dict
) -> tuple[str, str | None, outbox.OutboxEntry | None]:
    """Mark the account verified or failed from the fetched profile, staging the notice in
    the same transaction; returns its key, dedup key and outbox row (None when the dedup
    key was staged before, or there is none: see ``_check_dedup``)."""
    try:
        found = info is not None and code_present(info.description, account.verification_code)
    except InvalidCode:
        logger.error("account %s has a malformed verification code", account.id)
        found = False
    pool = await runtime.db()
    async with unit_of_work(pool) as conn:
        key = await _mark(conn, account, info, found=found)
        dedup = (
            f"account:{account.id}:verified"
            if key == "notify.account.verified"
            else _check_dedup(account, key.rsplit(".", 1)[-1])
        )
        staged = (
            await outbox.add(conn, user_id=account.user_id, key=key, params=params, dedup_key=dedup) if dedup else None
        )
    return key, dedup, staged


async def _mark(conn: psycopg.AsyncConnection, account: accounts.PlatformAccount, info, *, found: bool) -> str:
    """Mark the account verified or failed (in the caller's transaction); the notice key."""
    if found:
        try:
            await accounts.mark_verified(conn, account_id=account.id, external_id=info.external_id)
            return "notify.account.verified"
        except accounts.AccountTaken:
            key, reason = "notify.account.taken", "verified by another user"
            evidence = {"platform": account.platform, "handle": account.handle, "external_id": info.external_id}
            await trust_signals.record(
                conn,
                Signal(SignalKind.SHARED_CHANNEL, evidence),
                user_id=account.user_id,
                dedup_key=f"account:{account.id}:shared_channel",
            )
    elif info is None:
        key, reason = "notify.account.not_found", "profile not found"
    else:
        key, reason = "notify.account.failed", "code not found in the profile"
    await accounts.mark_failed(conn, account_id=account.id, reason=reason)
    return key


ACTORS = (
    ActorSpec(
        SUBMIT_VIDEO,
        submit_video,
        {"throws": (users.UserNotFound,), "max_retries": 5, "min_backoff": 5_000, "time_limit": 120_000},
    ),
    ActorSpec(
        VERIFY_ACCOUNT,
        verify_account,
        {"throws": (accounts.AccountNotFound,), "max_retries": 5, "min_backoff": 5_000, "time_limit": 120_000},
    ),
)
