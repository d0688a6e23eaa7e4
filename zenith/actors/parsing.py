"""Parsing: fetch view counts, store snapshots, credit earnings, schedule the next check.

``check_videos(video_ids, attempt=0)`` groups the videos by platform and asks each
platform once for all of them (the YouTube adapter sends 50 ids per call and keeps a
few calls in flight; TikTok pages are fetched concurrently, bounded). The plausible
answers of a message are stored together in one transaction with multi-row writes
(`storage.check_batch.record_checks`); if that transaction fails for a database reason,
each of them is stored in a transaction of its own (`storage.checks.record_check`, at
most `STORE_CONCURRENCY` at once), so one row cannot sink the batch.

Idempotency: the credit is the difference between what the video has earned in total
at its new view count and what was already credited, computed under the video row's
lock; a replayed message (or a second snapshot) therefore credits nothing twice, and a
replay of the same snapshot is a no-op.

Trust (docs/trust.md): an answer that cannot be real is refused before anything is
stored (``trust_gate``); the growth of a plausible one is judged under the video's lock,
and doubtful growth is credited to the creator's held account for an admin to decide.

Errors, each video on its own (one bad item never fails or re-stores the others): a
video the platform says is private, deleted or gone is a miss — declared gone (marked
failed, its creator told once) only after VIDEO_GONE_AFTER_CHECKS misses over
VIDEO_GONE_AFTER_HOURS, re-checked in between (`storage.check_faults`); an answer about
a video that cannot be understood (a count of 12.5, "1e30", text, a missing field) is
retried and after CHECK_UNREADABLE_LIMIT such answers in a row the video is
quarantined with the raw answer for an admin; a video whose store fails is retried
later; a platform that blocks us or whose quota is used up is paused (Redis TTL until
its reset) and the whole batch is re-sent for then, burning no retries; a video that
failed this time (5xx, timeout, garbage) after the adapter's own retries is re-sent
later with a growing delay. Every delayed re-send moves the videos' claims to when it
is due, so the clock re-sends a lost one CHECK_RESEND_SECONDS after that. Videos that
are not approved, or whose creator is banned, earn nothing.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import defaultdict
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import datetime, timedelta, timezone
from functools import lru_cache

import psycopg
from opentelemetry import context as otel_context
from opentelemetry import trace

from zenith.actors import notice_outbox
from zenith.actors.attempts import is_last_attempt
from zenith.actors.notice_outbox import publish
from zenith.actors.platform_answers import fetch_stats
from zenith.actors.platform_pause import DEFAULT_PAUSE_MS, pause_platform, platform_pause_ms
from zenith.actors.registry import ActorSpec
from zenith.actors.runtime import Runtime, get_runtime
from zenith.actors.trust_gate import growth_judge, growth_judge_many, record_refusal, refusal, trust_policy
from zenith.config import Settings
from zenith.domain.campaigns import earnings_policy
from zenith.domain.earnings import EarningsPolicy, earned_total
from zenith.domain.schedule import CheckSchedule, growth_per_hour, next_check_at, parse_schedule
from zenith.domain.users import UserStatus
from zenith.domain.videos import VideoStatus, is_tracked
from zenith.messaging import notices
from zenith.messaging.batch_enqueue import EnqueueBatch
from zenith.messaging.contract import CHECK_VIDEOS, NOTIFY
from zenith.platforms.base import VideoStats
from zenith.platforms.errors import BlockedError, ConfigurationError, PermanentError, UnreadableAnswer
from zenith.storage import (
    campaigns,
    check_batch,
    check_faults,
    checks,
    credit_notices,
    digests,
    outbox,
    users,
    video_traces,
    videos,
)
from zenith.storage.db import unit_of_work
from zenith.telemetry.attributes import current_trace_id_hex, video_attributes
from zenith.telemetry.dramatiq_middleware import carry_context
from zenith.telemetry.lean_spans import start_lean_spans
from zenith.telemetry.metrics import get_metrics
from zenith.telemetry.stages import attached, quiet_statements, stage_span
from zenith.telemetry.subject import tag_video, with_subject
from zenith.telemetry.tracing import tracer
from zenith.telemetry.video_traces import record_video_trace

logger = logging.getLogger(__name__)

STORE_CONCURRENCY = 8  # transactions in flight per message (the pool holds DATABASE_POOL_MAX)
# a video that failed this time is tried again after 30 s, 1 min, 2 min ... at most 1 h
RETRY_BASE_MS = 30_000
RETRY_MAX_MS = 3_600_000
# Re-sends of a video that keeps failing this time: 30 s + 1 + 2 + 4 min = 7.5 min, well
# inside the clock's STALE_CHECK_AFTER (15 min). Then this round gives up: the creator is
# told the check is delayed, and the video, still claimed (or due), is re-sent by the clock.
MAX_RETRY_ATTEMPTS = 4
# credit notices: at most one per video in this window; amounts in between add up
# (decided in the credit's transaction, `storage.credit_notices`)
CREDIT_NOTIFY_WINDOW_SECONDS = 6 * 3600
# with the daily digest (EARNINGS_DIGEST) a window that never reopens: only the first credit
DIGEST_ONLY_WINDOW = timedelta(days=3650)


@lru_cache(maxsize=8)
def _rules(settings: Settings) -> tuple[EarningsPolicy, CheckSchedule, timedelta]:
    policy = EarningsPolicy.from_values(
        rate_per_1000=settings.rate_per_1000_rub,
        rate_card=settings.rate_card,
        min_views=settings.min_views,
        cap=settings.video_cap_rub,
        fixed_amount=settings.fixed_amount_per_video_rub,
    )
    return policy, parse_schedule(settings.check_schedule), timedelta(days=settings.tracking_days)


def retry_delay_ms(attempt: int) -> int:
    """Delay before the ``attempt``-th re-try of videos that failed this time."""
    return min(RETRY_MAX_MS, RETRY_BASE_MS * 2 ** max(0, attempt))


async def check_videos(video_ids: list[int], attempt: int = 0) -> None:
    """Check the views of ``video_ids`` (any mix of platforms) and credit what they earned.

    Parameters:
      video_ids: videos.id values; unknown ids and videos no longer approved are skipped.
      attempt: how many times these ids were re-sent after failing this time (delay grows).

    Nothing is lost when it fails for good (Dramatiq's last retry, or MAX_RETRY_ATTEMPTS
    re-sends): a video's schedule only moves when its check is stored, so the clock finds
    it again (a stale claim, or still due) and the creator is told the check is delayed.
    """
    runtime = get_runtime()
    settled: set[int] = set()  # videos this delivery finished with: never told "delayed"
    try:
        await _check_videos(runtime, video_ids, attempt, settled)
    except Exception:
        if is_last_attempt(runtime.broker):
            await _tell_delayed(runtime, [video_id for video_id in video_ids if video_id not in settled])
        raise


async def _check_videos(runtime: Runtime, video_ids: list[int], attempt: int, settled: set[int]) -> None:
    pool = await runtime.db()
    now = datetime.now(timezone.utc)
    # stages, not statements: a span per SQL statement of a batch cost more than its videos' spans
    with stage_span("load videos", attributes={"zenith.check.batch_size": len(video_ids)}):
        async with pool.connection() as conn:
            found = await videos.get_many(conn, list(video_ids))
            # handled now: the clock counts a claim lost from here, not from when it was sent
            await videos.postpone_checks(
                conn, video_ids=[video.id for video in found if video.check_enqueued_at], until=now
            )
    tracked = [video for video in found if is_tracked(video.status)]
    if len(found) == 1:
        tag_video(found[0].id, found[0].platform)
    by_platform: dict[str, list[videos.Video]] = defaultdict(list)
    for video in tracked:
        by_platform[video.platform].append(video)
    await asyncio.gather(
        *(_check_platform(runtime, platform, batch, attempt, settled) for platform, batch in by_platform.items())
    )


async def _resend(runtime: Runtime, ids: list[int], attempt: int, *, delay_ms: int) -> None:
    """Send ``ids`` again in ``delay_ms``, their claims moved to then (if this message is
    lost, the clock re-sends them CHECK_RESEND_SECONDS after it was due)."""
    try:
        pool = await runtime.db()
        async with pool.connection() as conn:
            await videos.postpone_checks(
                conn, video_ids=ids, until=datetime.now(timezone.utc) + timedelta(milliseconds=delay_ms)
            )
    except Exception:  # at worst the clock re-sends them early; the check is idempotent
        logger.warning("claims of %d videos not postponed", len(ids), exc_info=True)
    runtime.send(CHECK_VIDEOS, ids, attempt, delay_ms=delay_ms)


async def _check_platform(
    runtime: Runtime, platform: str, batch: list[videos.Video], attempt: int, settled: set[int]
) -> None:
    redis = await runtime.redis()
    ids = [video.id for video in batch]
    with quiet_statements():  # two Redis reads per batch message: spans of their own would say nothing
        paused_ms = await platform_pause_ms(redis, prefix=runtime.namespace, platform=platform)
    if paused_ms:
        await _resend(runtime, ids, attempt, delay_ms=paused_ms)
        return
    started = time.monotonic()
    try:
        results = await fetch_stats(runtime, platform, [video.external_id for video in batch])
    except BlockedError as exc:
        pause = await pause_platform(
            redis, prefix=runtime.namespace, platform=platform, until=exc.until, reason=str(exc)
        )
        logger.warning("%s paused for %d s: %s", platform, pause // 1000, exc)
        get_metrics().platform_errors.labels(platform=platform, kind=type(exc).__name__).inc()
        await _resend(runtime, ids, attempt, delay_ms=pause)
        return
    except ConfigurationError as exc:
        # nothing works until an operator fixes the settings; do not hammer the API meanwhile
        await pause_platform(redis, prefix=runtime.namespace, platform=platform, until=None, reason=str(exc))
        logger.error("%s misconfigured, checks paused: %s", platform, exc)
        await _resend(runtime, ids, attempt, delay_ms=DEFAULT_PAUSE_MS)
        return
    fetch_seconds = (time.monotonic() - started) / max(1, len(batch))

    policy, schedule, window = _rules(runtime.settings)
    pool = await runtime.db()
    with stage_span("load owners and terms", attributes={"zenith.check.batch_size": len(batch)}):
        owners = await _users(runtime, {video.user_id for video in batch})
        async with pool.connection() as conn:
            faults = await check_faults.get_many(conn, ids)
        terms = await _campaign_policies(runtime, {video.campaign_id for video in batch}, policy)
    now = datetime.now(timezone.utc)
    gate = asyncio.Semaphore(STORE_CONCURRENCY)
    retry_later: list[int] = []
    # every video has its own "check video" span under this message's span, ended when it is done
    video_spans = start_lean_spans("check video", [video_attributes(video.id, video.platform) for video in batch])
    spans = {video.id: span for video, span in zip(batch, video_spans, strict=True)}
    contexts = video_contexts(spans, batch)
    trust = trust_policy(runtime.settings)
    plausible: dict[int, VideoStats] = {}
    for video in batch:
        answer = results.get(video.external_id)
        if isinstance(answer, VideoStats) and refusal(answer, trust) is None:
            plausible[video.id] = answer
    batched = [video for video in batch if video.id in plausible]
    stored: set[int] = set()
    if batched:
        stored = await _store_batch(
            runtime,
            batched,
            plausible,
            spans=spans,
            contexts=contexts,
            now=now,
            rules={video.id: (terms[video.campaign_id], schedule, window) for video in batched},
            owners=owners,
            fetch_seconds=fetch_seconds,
        )
        for video in batched:
            if video.id in stored and video.id in faults:
                async with pool.connection() as conn:
                    await check_faults.clear(conn, video_id=video.id)
        settled.update(stored)

    async def one(video: videos.Video) -> None:
        result = results.get(video.external_id)
        with attached(contexts[video.id]):
            async with gate:
                try:
                    done = await _settle(
                        runtime,
                        video,
                        result,
                        now=now,
                        rules=(terms[video.campaign_id], schedule, window),
                        owner=owners[video.user_id],
                        had_faults=video.id in faults,
                        fetch_seconds=fetch_seconds,
                    )
                except Exception as exc:  # this video only: the others of the batch go on
                    logger.warning(
                        "video %s: check not stored (%s: %s); retried later", video.id, type(exc).__name__, exc
                    )
                    done = False
                if done:
                    settled.add(video.id)
                else:
                    # the failed call behind it was counted in platform_errors by the retry helper
                    trace.get_current_span().set_attribute("zenith.check.retry_later", True)
                    retry_later.append(video.id)

    try:
        # what the batch did not store: other answers, refused ones, and (after a batch that
        # failed for a database reason) each plausible one again in a transaction of its own
        await asyncio.gather(*(one(video) for video in batch if video.id not in stored))
    finally:
        for span in spans.values():
            span.end()
    if retry_later and attempt < MAX_RETRY_ATTEMPTS:
        await _resend(runtime, retry_later, attempt + 1, delay_ms=retry_delay_ms(attempt))
    elif retry_later:
        logger.warning(
            "%s: %d videos still failing after %d re-sends; left to the clock", platform, len(retry_later), attempt
        )
        await _tell_delayed(runtime, retry_later)


async def _settle(
    runtime: Runtime,
    video: videos.Video,
    result,
    *,
    now: datetime,
    rules: tuple,
    owner: users.User,
    had_faults: bool,
    fetch_seconds: float,
) -> bool:
    """Act on one video's answer; True when this message is done with it, False to retry it later."""
    policy, schedule, window = rules
    settings = runtime.settings
    if isinstance(result, VideoStats):
        started = time.monotonic()
        await _store(
            runtime,
            video,
            result,
            now=now,
            policy=policy,
            schedule=schedule,
            window=window,
            owner=owner,
            fetch_seconds=fetch_seconds,
        )
        if had_faults:
            pool = await runtime.db()
            async with pool.connection() as conn:
                await check_faults.clear(conn, video_id=video.id)
        get_metrics().video_processing_seconds.labels(platform=video.platform).observe(
            fetch_seconds + time.monotonic() - started
        )
        return True
    if isinstance(result, PermanentError):
        await _missing(runtime, video, result, now=now)
        return True
    if isinstance(result, UnreadableAnswer):
        pool = await runtime.db()
        async with unit_of_work(pool) as conn:
            count = await check_faults.record_unreadable(
                conn,
                video_id=video.id,
                reason=str(result),
                raw_answer=result.raw,
                now=now,
                limit=settings.check_unreadable_limit,
            )
        get_metrics().platform_errors.labels(platform=video.platform, kind="unreadable").inc()
        if count is None:
            logger.warning(
                "video %s quarantined after %d unreadable answers: %s",
                video.id,
                settings.check_unreadable_limit,
                result,
            )
            return True
        logger.info(
            "video %s: unreadable answer %d of %d (%s)", video.id, count, settings.check_unreadable_limit, result
        )
    return False


async def _missing(runtime: Runtime, video: videos.Video, error: PermanentError, *, now: datetime) -> None:
    """A miss: declared gone (failed, creator told once) only after enough misses over enough time."""
    settings = runtime.settings
    pool = await runtime.db()
    async with unit_of_work(pool) as conn:
        miss = await check_faults.record_missing(
            conn,
            video_id=video.id,
            reason=error.reason,
            now=now,
            gone_after_checks=settings.video_gone_after_checks,
            gone_after=timedelta(hours=float(settings.video_gone_after_hours)),
        )
    if miss.gone or miss.next_check_at is None:  # a gone video has no next check
        await _fail(runtime, video, error)
    else:
        logger.info(
            "video %s missing (%s), miss %d; checked again at %s",
            video.id,
            error.reason,
            miss.missing_checks,
            miss.next_check_at.isoformat(),
        )


async def _tell_delayed(runtime: Runtime, video_ids: list[int]) -> None:
    """Tell each creator their video's check is delayed (once a day per video); best effort."""
    try:
        pool = await runtime.db()
        async with pool.connection() as conn:
            found = await videos.get_many(conn, video_ids)
        day = datetime.now(timezone.utc).date().isoformat()
        for video in found:
            if is_tracked(video.status):
                runtime.send(
                    NOTIFY,
                    video.user_id,
                    "notify.video.check_delayed",
                    {"url": video.url},
                    f"video:{video.id}:check-delayed:{day}",
                    None,
                )
    except Exception:
        logger.exception("could not tell the creators of videos %s that their check is delayed", video_ids[:10])


async def _users(runtime: Runtime, user_ids: set[int]) -> dict[int, users.User]:
    """The batch's creators (tier and ban status), read once per batch."""
    pool = await runtime.db()
    async with pool.connection() as conn:
        found = await users.get_many(conn, list(user_ids))
    missing = user_ids - set(found)
    if missing:
        raise users.UserNotFound(f"no user with id {min(missing)}")
    return found


async def _campaign_policies(
    runtime: Runtime, campaign_ids: set[int], program: EarningsPolicy
) -> dict[int, EarningsPolicy]:
    """Each campaign's earnings rules (its rate, minimum and cap; else the program's), read once per batch."""
    pool = await runtime.db()
    async with pool.connection() as conn:
        found = await campaigns.get_many(conn, campaign_ids)
    return {campaign_id: earnings_policy(campaign.terms, program) for campaign_id, campaign in found.items()}


async def _store(
    runtime: Runtime,
    video: videos.Video,
    stats: VideoStats,
    *,
    now: datetime,
    policy: EarningsPolicy,
    schedule: CheckSchedule,
    window: timedelta,
    owner: users.User,
    fetch_seconds: float,
) -> None:
    """Store one check, invalidate the creator's cached figures and log ``video_processed``
    (processing time: its share of the batch's platform call plus storing it)."""
    started = time.monotonic()
    pool = await runtime.db()
    trust = trust_policy(runtime.settings)
    refused = refusal(stats, trust)
    if refused is not None:  # an answer that cannot be real is never money, not even clamped
        next_at = next_check_at(
            schedule=schedule, submitted_at=video.submitted_at, now=now, tracking_window=window, views_per_hour=None
        )
        async with unit_of_work(pool) as conn:
            await record_refusal(conn, video=video, signal=refused, taken_at=now, next_check_at=next_at)
        return
    # a banned creator's videos earn nothing more: the total stays at what was credited
    total = (
        video.credited
        if owner.status is UserStatus.BANNED
        else earned_total(views=stats.views, platform=video.platform, tier=owner.tier, policy=policy)
    )
    speed = None
    if video.last_checked_at is not None and video.last_checked_at < now:
        speed = growth_per_hour(
            views_before=video.views, checked_before=video.last_checked_at, views_now=stats.views, checked_now=now
        )
    next_at = next_check_at(
        schedule=schedule, submitted_at=video.submitted_at, now=now, tracking_window=window, views_per_hour=speed
    )
    async with unit_of_work(pool) as conn:
        with tracer().start_as_current_span(
            "ledger.credit", attributes=video_attributes(video.id, video.platform)
        ) as span:
            result = await checks.record_check(
                conn,
                video_id=video.id,
                views=stats.views,
                likes=stats.likes or 0,
                comments=stats.comments or 0,
                taken_at=now,
                earned_total=total,
                next_check_at=next_at,
                finished=next_at is None,
                title=stats.title,
                judge=growth_judge(trust, stats=stats, taken_at=now, tracking_window=window),
            )
            span.set_attributes(
                {
                    "zenith.views": stats.views,
                    "zenith.credited": str(result.credited_now),
                    "zenith.check.replay": result.replay,
                }
            )
        staged = await _stage_check_notices(conn, result, now=now, digest=runtime.settings.earnings_digest)
        if video.trace_id != current_trace_id_hex():
            # a check in a trace of its own (a re-check from the clock, a moderator's approval):
            # remember it, so `zenith trace VIDEO_ID` lists it next to the first trace
            await record_video_trace(conn, video_id=video.id, kind="recheck" if video.last_checked_at else "check")
    await runtime.creators_changed(video.user_id)  # views, earnings and balance changed: committed above
    processing_seconds = fetch_seconds + time.monotonic() - started
    logger.info(
        "video processed: #%s on %s, %d views, earned %s (+%s), %.2f s",
        video.id,
        video.platform,
        stats.views,
        result.video.credited,
        result.credited_now,
        processing_seconds,
        extra={
            "event": "video_processed",
            "video_id": video.id,
            "user_id": video.user_id,
            "platform": video.platform,
            "views": stats.views,
            "earnings": str(result.video.credited),
            "credited_now": str(result.credited_now),
            "processing_time": round(processing_seconds, 3),
            "replay": result.replay,
        },
    )
    await publish(runtime, staged)


def video_contexts(spans: dict[int, trace.Span], batch: list[videos.Video]) -> dict[int, otel_context.Context]:
    """The context of each video's work, entered with ``attached``: its "check video" span
    current, the video the subject of what runs inside (messages, our own spans), its SQL and
    Redis statements without spans of their own (``zenith.telemetry.stages``).

    Built once per video and entered two or three times: building it at each entry cost
    the traced worker more than the span itself (docs/benchmarks.md, "Sixth round").
    """
    with quiet_statements():  # built inside it: each context carries the suppression too
        return {
            video.id: with_subject(
                video_attributes(video.id, video.platform), trace.set_span_in_context(spans[video.id])
            )
            for video in batch
        }


async def _store_batch(
    runtime: Runtime,
    batch: list[videos.Video],
    answers: dict[int, VideoStats],
    *,
    spans: dict[int, trace.Span],
    contexts: dict[int, otel_context.Context],
    now: datetime,
    rules: dict[int, tuple[EarningsPolicy, CheckSchedule, timedelta]],
    owners: dict[int, users.User],
    fetch_seconds: float,
) -> set[int]:
    """Store the plausible answers of a batch in one transaction (``check_batch.record_checks``),
    stage their notices in it, then publish them; returns the ids stored.

    A batch that fails for a database reason stores nothing and returns no id: its videos
    are then stored one transaction each, so one row cannot sink the others.
    """
    started = time.monotonic()
    trust = trust_policy(runtime.settings)
    inputs = []
    for video in batch:
        stats, (policy, schedule, window), owner = answers[video.id], rules[video.id], owners[video.user_id]
        inputs.append(_check_input(video, stats, now=now, policy=policy, schedule=schedule, window=window, owner=owner))
    window = next(iter(rules.values()))[2]
    # one video: its transaction is its own (under its "check video"); more: under one span of
    # the batch; either way a stage span, its statements without spans of their own
    scope = (
        attached(contexts[batch[0].id])
        if len(batch) == 1
        else stage_span("store checks", attributes={"zenith.check.batch_size": len(batch)})
    )
    pool = await runtime.db()
    trace_id = current_trace_id_hex()
    try:
        with scope:
            async with unit_of_work(pool) as conn:
                stored = await check_batch.record_checks(
                    conn,
                    inputs,
                    taken_at=now,
                    judge=growth_judge_many(trust, stats=answers, taken_at=now, tracking_window=window),
                )
                staged = await _stage_batch_notices(
                    conn, list(stored.values()), now=now, digest=runtime.settings.earnings_digest
                )
                if trace_id:  # a check in a trace of its own: `zenith trace VIDEO_ID` lists it next to the first
                    later = [video for video in batch if video.trace_id != trace_id]
                    await video_traces.record_many(
                        conn,
                        trace_id=trace_id,
                        checks=[video.id for video in later if not video.last_checked_at],
                        rechecks=[video.id for video in later if video.last_checked_at],
                    )
    except Exception as exc:
        logger.warning(
            "batch of %d checks not stored together (%s: %s); stored one by one", len(batch), type(exc).__name__, exc
        )
        for video in batch:
            spans[video.id].set_attributes({"zenith.check.batch_size": len(batch), "zenith.check.batch_failed": True})
        return set()
    # what a video's check credited goes on its "check video" span, not on a span of its own:
    # a span per video per stage (docs/telemetry.md, "Cost")
    for video in batch:
        result = stored[video.id]
        spans[video.id].set_attributes(
            {
                "zenith.check.batch_size": len(batch),
                "zenith.views": answers[video.id].views,
                "zenith.credited": str(result.credited_now),
                "zenith.check.replay": result.replay,
            }
        )
    processing_seconds = fetch_seconds + (time.monotonic() - started) / len(batch)
    metric = get_metrics().video_processing_seconds
    for video in batch:
        result = stored[video.id]
        metric.labels(platform=video.platform).observe(processing_seconds)
        with attached(contexts[video.id]):
            _log_processed(video, answers[video.id], result, processing_seconds)
    by_key = {entry.dedup_key: video_id for video_id, entry in staged}

    # the notices go to the broker in one round trip (each was one, a fifth of the worker's time)
    batch_send = EnqueueBatch(runtime.broker)

    def send(entry: outbox.OutboxEntry) -> None:
        video_id = by_key[entry.dedup_key]  # the notice's "process" span is a child of its video's check
        with attached(contexts[video_id]), carry_context():
            notice_outbox.enqueue_notice(runtime, entry, batch=batch_send)

    with stage_span("publish notices", attributes={"zenith.check.batch_size": len(batch)}):
        await runtime.creators_changed(*sorted({video.user_id for video in batch}))  # committed above
        await notices.publish(
            [entry for _, entry in staged], send=send, connect=lambda: _connection(runtime), flush=batch_send.flush
        )
    return set(stored)


@asynccontextmanager
async def _connection(runtime: Runtime) -> AsyncIterator[psycopg.AsyncConnection]:
    pool = await runtime.db()
    async with pool.connection() as conn:
        yield conn


def _check_input(
    video: videos.Video,
    stats: VideoStats,
    *,
    now: datetime,
    policy: EarningsPolicy,
    schedule: CheckSchedule,
    window: timedelta,
    owner: users.User,
) -> check_batch.CheckInput:
    """One plausible answer as a check to store: the domain's total and next check for it."""
    # a banned creator's videos earn nothing more: the total stays at what was credited
    total = (
        video.credited
        if owner.status is UserStatus.BANNED
        else earned_total(views=stats.views, platform=video.platform, tier=owner.tier, policy=policy)
    )
    speed = None
    if video.last_checked_at is not None and video.last_checked_at < now:
        speed = growth_per_hour(
            views_before=video.views, checked_before=video.last_checked_at, views_now=stats.views, checked_now=now
        )
    next_at = next_check_at(
        schedule=schedule, submitted_at=video.submitted_at, now=now, tracking_window=window, views_per_hour=speed
    )
    return check_batch.CheckInput(
        video_id=video.id,
        views=stats.views,
        likes=stats.likes or 0,
        comments=stats.comments or 0,
        earned_total=total,
        next_check_at=next_at,
        finished=next_at is None,
        title=stats.title,
    )


def _log_processed(video: videos.Video, stats: VideoStats, result: checks.CheckResult, seconds: float) -> None:
    logger.info(
        "video processed: #%s on %s, %d views, earned %s (+%s), %.2f s",
        video.id,
        video.platform,
        stats.views,
        result.video.credited,
        result.credited_now,
        seconds,
        extra={
            "event": "video_processed",
            "video_id": video.id,
            "user_id": video.user_id,
            "platform": video.platform,
            "views": stats.views,
            "earnings": str(result.video.credited),
            "credited_now": str(result.credited_now),
            "processing_time": round(seconds, 3),
            "replay": result.replay,
        },
    )


async def _stage_batch_notices(
    conn: psycopg.AsyncConnection, results: list[checks.CheckResult], *, now: datetime, digest: bool = False
) -> list[tuple[int, outbox.OutboxEntry]]:
    """``_stage_check_notices`` for a batch's results in a few statements: (video id, entry) pairs."""
    fresh = [result for result in results if not result.replay]
    credited = [result for result in fresh if result.credited_now > 0]
    opted_out = await digests.opted_out(conn, [r.video.user_id for r in credited]) if digest and credited else set()
    normal = timedelta(seconds=CREDIT_NOTIFY_WINDOW_SECONDS)
    due = await credit_notices.due_amounts(
        conn,
        [
            (
                r.video.id,
                r.video.credited,
                r.credited_now,
                DIGEST_ONLY_WINDOW if digest and r.video.user_id not in opted_out else normal,
            )
            for r in credited
        ],
        now=now,
    )
    wanted: list[tuple[int, outbox.NewNotice]] = []
    for result in fresh:
        video = result.video
        if video.id in due:
            params = {"amount": str(due[video.id]), "url": video.url, "views": video.views}
            key = f"credit:{video.id}:{result.snapshot.id}"
            wanted.append((video.id, outbox.NewNotice(video.user_id, "notify.video.credited", params, key)))
        if result.held_now > 0:
            params = {"amount": str(result.held_now), "url": video.url}
            key = f"held:{video.id}:{result.snapshot.id}"
            wanted.append((video.id, outbox.NewNotice(video.user_id, "notify.video.held", params, key)))
        if video.status == VideoStatus.FINISHED:
            params = {"url": video.url, "earned": str(video.credited)}
            wanted.append(
                (
                    video.id,
                    outbox.NewNotice(video.user_id, "notify.video.finished", params, f"video:{video.id}:finished"),
                )
            )
        if result.campaign_spent is not None:  # the credit that took the last of the budget: everyone hears it once
            campaign = result.campaign_spent
            for member in await campaigns.member_ids(conn, campaign.id):
                key = f"campaign:{campaign.id}:spent:{member}"
                params = {"campaign": campaign.name}
                wanted.append((video.id, outbox.NewNotice(member, "notify.campaign.spent", params, key)))
    video_of = {notice.dedup_key: video_id for video_id, notice in wanted}
    entries = await outbox.add_many(conn, [notice for _, notice in wanted])
    return [(video_of[entry.dedup_key], entry) for entry in entries]


async def _stage_check_notices(
    conn: psycopg.AsyncConnection, result: checks.CheckResult, *, now: datetime, digest: bool = False
) -> list[outbox.OutboxEntry | None]:
    """Stage the notices a stored check calls for, in its transaction: money credited (at
    most one per video per CREDIT_NOTIFY_WINDOW_SECONDS, amounts in between adding up; with
    ``digest`` and the creator not opted out, only the video's first credit: the daily
    digest reports the rest) and tracking finished. A replayed snapshot calls for none."""
    if result.replay:
        return []
    video = result.video
    staged = []
    if result.credited_now > 0:
        # with the daily digest on, only a video's first credit is announced at once
        in_digest = digest and await digests.is_enabled(conn, user_id=video.user_id)
        amount = await credit_notices.due_amount(
            conn,
            video_id=video.id,
            credited_total=video.credited,
            credited_now=result.credited_now,
            now=now,
            window=DIGEST_ONLY_WINDOW if in_digest else timedelta(seconds=CREDIT_NOTIFY_WINDOW_SECONDS),
        )
        if amount is not None:
            params = {"amount": str(amount), "url": video.url, "views": video.views}
            staged.append(
                await outbox.add(
                    conn,
                    user_id=video.user_id,
                    key="notify.video.credited",
                    params=params,
                    dedup_key=f"credit:{video.id}:{result.snapshot.id}",
                )
            )
    if result.held_now > 0:
        params = {"amount": str(result.held_now), "url": video.url}
        staged.append(
            await outbox.add(
                conn,
                user_id=video.user_id,
                key="notify.video.held",
                params=params,
                dedup_key=f"held:{video.id}:{result.snapshot.id}",
            )
        )
    if video.status == VideoStatus.FINISHED:
        params = {"url": video.url, "earned": str(video.credited)}
        staged.append(
            await outbox.add(
                conn,
                user_id=video.user_id,
                key="notify.video.finished",
                params=params,
                dedup_key=f"video:{video.id}:finished",
            )
        )
    # the credit that took the last of a budget, or first left it nearly spent, staged its members' notices
    staged.extend(result.campaign_notices)
    return staged


async def _fail(runtime: Runtime, video: videos.Video, error: PermanentError) -> None:
    pool = await runtime.db()
    staged = None
    async with unit_of_work(pool) as conn:
        changed = await videos.set_status(
            conn,
            video_id=video.id,
            status=VideoStatus.FAILED,
            reason=error.reason.lower(),
            from_statuses=(VideoStatus.APPROVED,),
        )
        if changed is not None:
            staged = await outbox.add(
                conn,
                user_id=video.user_id,
                key="notify.video.not_found",
                params={"url": video.url},
                dedup_key=f"video:{video.id}:failed",
            )
    await runtime.creators_changed(video.user_id)  # the video's status changed: committed above
    get_metrics().platform_errors.labels(platform=video.platform, kind=error.reason).inc()
    await publish(runtime, [staged])


ACTORS = (ActorSpec(CHECK_VIDEOS, check_videos, {"max_retries": 5, "min_backoff": 10_000, "time_limit": 300_000}),)
