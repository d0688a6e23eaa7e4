"""The clock: periodic work no user action triggers.

Every CLOCK_TICK_SECONDS (default 5) the `zenith clock` process runs `tick(now)`:

* due re-checks: claims approved videos whose ``next_check_at`` has come, in batches
  per platform (``FOR UPDATE SKIP LOCKED`` in `videos.claim_due_checks`: two clocks
  never enqueue the same video) and sends one ``check_videos`` per batch (YouTube: 50
  ids, the size of one API call). Each re-check batch starts a new trace linked to the
  videos' first traces.
* lost checks: a claimed check not stored CHECK_RESEND_SECONDS (default 60) after its
  message was due (its message was lost, or a worker died with it) is claimed again and
  re-sent. A submitted video is claimed when its first check is sent, so a lost first
  check is re-sent the same way.
* The lost-work sweeps (checks, submissions, unconfirmed notices) wait while the queue
  they would re-send into still holds ready messages (`backlog.has_backlog`): overdue
  work behind a backlog is waiting, not lost, and re-sending it would only add duplicates.
* lost submissions: a link received (a 'received' row, see `storage.submissions`) whose
  submit_video was not handled SUBMISSION_RESEND_SECONDS after it was due is re-sent;
  after SUBMISSION_MAX_RESENDS re-sends the creator is asked to send the link again.
* notices: relays outbox notices never enqueued `notice_outbox.RELAY_GRACE` after their
  transaction committed (the worker died before sending) or enqueued but not confirmed
  by the notifications actor within NOTICE_RESEND_SECONDS (the broker lost the message),
  and once an hour deletes those sent more than `notice_outbox.RETENTION` ago.
* digests: from EARNINGS_DIGEST_HOUR_UTC, each creator's daily earnings digest
  (`zenith.actors.digest`), once per creator and day.
* campaigns: closes campaigns whose end date passed (unspent budget back to the funder)
  and opens scheduled drafts whose start date came (`zenith.actors.campaign_clock`).
* rates: sends ``refresh_rates`` every RATE_REFRESH_SECONDS (one clock wins a Redis key).
* payouts: re-sends ``process_payout`` for payouts stuck in 'sending' (it reconciles
  with getTransfers), 'approved' (the message was lost) or 'requested' (a lost
  automatic approval; a no-op for payouts waiting for an admin), each at most once per
  `PAYOUT_NUDGE_SECONDS`.

Without CRYPTO_PAY_TOKEN there is nothing to refresh or pay with: the rates and payouts
duties do not run at all (`run_loop` says so once at start); held payouts stay as they
are and the nudges resume once the token is set.

Everything it sends is idempotent at the receiving actor, so a tick that dies halfway
can simply run again.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
from datetime import datetime, timedelta, timezone

import psycopg

from zenith.actors import notice_outbox
from zenith.actors.backlog import has_backlog
from zenith.actors.campaign_clock import run_campaign_life
from zenith.actors.digest import send_daily_digests
from zenith.actors.hold_release import release_quiet_holds
from zenith.actors.rates import crypto_pay_configured
from zenith.actors.runtime import Runtime, configure_runtime, get_runtime
from zenith.config import Settings, get_settings
from zenith.domain.links import Platform
from zenith.domain.payouts import PayoutStatus
from zenith.domain.submissions import SubmissionStatus
from zenith.messaging.contract import (
    CHECK_VIDEOS,
    NOTIFICATIONS,
    PARSING,
    PROCESS_PAYOUT,
    REFRESH_RATES,
    SUBMISSION,
    SUBMIT_VIDEO,
)
from zenith.messaging.submissions import wake_up_args
from zenith.storage import outbox, payouts, submissions, videos
from zenith.storage.db import unit_of_work
from zenith.telemetry.links import InvalidTraceId, link_to_trace, new_trace_for_message

logger = logging.getLogger(__name__)

TICK_SECONDS = 5.0
BATCH_SIZE = {Platform.YOUTUBE: 50, Platform.TIKTOK: 20, Platform.INSTAGRAM: 20}  # ids per check_videos message
MAX_BATCHES_PER_TICK = 200  # bounds one tick; the rest is due again next tick
SUBMISSION_BATCH_SIZE = 100  # received submissions re-sent per transaction
STUCK_PAYOUT_AFTER = timedelta(minutes=2)
PAYOUT_NUDGE_SECONDS = 300
PAYOUT_SCAN_LIMIT = 200
OUTBOX_PURGE_SECONDS = 3600  # sent notices are purged at most this often (one clock wins)
PAYOUTS_PAUSED = (
    "CRYPTO_PAY_TOKEN is not set: payouts are paused (no rate refreshes, no payout re-sends) until it is configured"
)


def _links(batch: list[videos.Video]):
    links = []
    for video in batch:
        if video.trace_id:
            try:
                links.append(link_to_trace(video.trace_id))
            except InvalidTraceId:
                logger.warning("video %s has a malformed trace id", video.id)
    return links


async def _send_checks(runtime: Runtime, conn: psycopg.AsyncConnection, ids: list[int]) -> None:
    """One check_videos message for ``ids``, as a new trace linked to their first traces."""
    batch = await videos.get_many(conn, ids)
    try:
        with new_trace_for_message(links=_links(batch)):
            runtime.send(CHECK_VIDEOS, ids)
    except Exception:
        await videos.release_checks(conn, video_ids=ids)  # due again next tick
        raise


async def enqueue_due_checks(runtime: Runtime, now: datetime) -> int:
    """Claim and send due and lost checks; returns how many videos were sent."""
    pool = await runtime.db()
    stale_after = timedelta(seconds=float(runtime.settings.check_resend_seconds))
    # overdue claims behind a backlog are waiting, not lost: re-sending them would only add duplicates
    kinds = ("due",) if await has_backlog(runtime.broker, PARSING) else ("due", "stale")
    sent = 0
    for platform, size in BATCH_SIZE.items():
        for kind in kinds:
            for _ in range(MAX_BATCHES_PER_TICK):
                async with pool.connection() as conn:
                    if kind == "due":
                        ids = await videos.claim_due_checks(conn, now=now, limit=size, platform=platform)
                    else:
                        ids = await videos.claim_stale_checks(
                            conn, now=now, older_than=stale_after, limit=size, platform=platform
                        )
                    if ids:
                        await _send_checks(runtime, conn, ids)
                sent += len(ids)
                if len(ids) < size:
                    break
    return sent


async def resend_submissions(runtime: Runtime, now: datetime) -> int:
    """Re-send received submissions whose wake-up is overdue; returns how many were re-sent.

    A submission re-sent SUBMISSION_MAX_RESENDS times already ends as failed instead, and
    its creator is asked to send the link again (the notice staged with it).
    """
    if await has_backlog(runtime.broker, SUBMISSION):
        return 0  # overdue submissions may be waiting in it; re-sent once it drained
    pool = await runtime.db()
    settings = runtime.settings
    overdue_before = now - timedelta(seconds=float(settings.submission_resend_seconds))
    resent = 0
    for _ in range(MAX_BATCHES_PER_TICK):
        staged = []
        async with unit_of_work(pool) as conn:
            claimed = await submissions.claim_overdue(
                conn, now=now, overdue_before=overdue_before, limit=SUBMISSION_BATCH_SIZE
            )
            for submission in claimed:
                if submission.resends > settings.submission_max_resends:
                    await submissions.finish(
                        conn, request_id=submission.request_id, status=SubmissionStatus.FAILED, outcome="lost"
                    )
                    staged.append(
                        await outbox.add(
                            conn,
                            user_id=submission.user_id,
                            key="notify.video.submit_failed",
                            params={"url": submission.url},
                            dedup_key=f"submission:{submission.request_id}",
                        )
                    )
                    continue
                runtime.send(SUBMIT_VIDEO, *wake_up_args(submission))  # with the campaign picked, if any
                resent += 1
        await notice_outbox.publish(runtime, staged)
        if len(claimed) < SUBMISSION_BATCH_SIZE:
            break
    if resent:
        logger.warning("re-sent %d submissions whose message was lost", resent)
    return resent


async def refresh_rates_when_due(runtime: Runtime) -> bool:
    """Send refresh_rates if no clock did within RATE_REFRESH_SECONDS; True if sent."""
    redis = await runtime.redis()
    if not await redis.set(
        runtime.key("clock", "rates-refreshed"), "1", nx=True, ex=max(1, runtime.settings.rate_refresh_seconds)
    ):
        return False
    runtime.send(REFRESH_RATES)
    return True


async def nudge_payouts(runtime: Runtime, now: datetime) -> int:
    """Re-send process_payout for payouts stuck in sending/approved/requested; returns the count."""
    pool = await runtime.db()
    redis = await runtime.redis()
    cutoff = now - STUCK_PAYOUT_AFTER
    async with pool.connection() as conn:
        stuck = await payouts.find_stuck_sending(conn, updated_before=cutoff, limit=PAYOUT_SCAN_LIMIT)
        for status in (PayoutStatus.APPROVED, PayoutStatus.REQUESTED):
            stuck += [
                p
                for p in await payouts.list_by_status(conn, status=status, limit=PAYOUT_SCAN_LIMIT)
                if p.updated_at < cutoff
            ]
    nudged = 0
    for payout in stuck:
        if await redis.set(runtime.key("clock", "payout-nudged", payout.id), "1", nx=True, ex=PAYOUT_NUDGE_SECONDS):
            runtime.send(PROCESS_PAYOUT, payout.id)
            nudged += 1
    return nudged


async def relay_notices(runtime: Runtime, now: datetime) -> int:
    """Relay outbox notices their senders did not publish; purge old sent ones hourly."""
    backlog = await has_backlog(runtime.broker, NOTIFICATIONS)
    relayed = await notice_outbox.relay_unsent(runtime, now=now, resend_unconfirmed=not backlog)
    redis = await runtime.redis()
    if await redis.set(runtime.key("clock", "outbox-purged"), "1", nx=True, ex=OUTBOX_PURGE_SECONDS):
        purged = await notice_outbox.purge_sent(runtime, now=now)
        if purged:
            logger.info("purged %d sent notices from the outbox", purged)
    return relayed


async def tick(now: datetime | None = None, *, runtime: Runtime | None = None) -> dict[str, int]:
    """One round of the clock's duties at ``now``; returns what it sent, by duty.

    Without CRYPTO_PAY_TOKEN the rates and payouts duties are skipped (0).
    """
    runtime = runtime or get_runtime()
    now = now or datetime.now(timezone.utc)
    done = {
        "checks": 0,
        "submissions": 0,
        "notices": 0,
        "digests": 0,
        "holds": 0,
        "campaigns": 0,
        "rates": 0,
        "payouts": 0,
    }
    duties = [
        ("checks", lambda: enqueue_due_checks(runtime, now)),
        ("submissions", lambda: resend_submissions(runtime, now)),
        ("notices", lambda: relay_notices(runtime, now)),
        ("digests", lambda: send_daily_digests(runtime, now)),
        ("holds", lambda: release_quiet_holds(runtime, now)),
        ("campaigns", lambda: run_campaign_life(runtime, now)),
    ]
    if crypto_pay_configured(runtime.settings):
        duties += [
            ("rates", lambda: refresh_rates_when_due(runtime)),
            ("payouts", lambda: nudge_payouts(runtime, now)),
        ]
    for name, duty in duties:
        try:  # one failing duty must not starve the others
            done[name] = int(await duty())
        except Exception:
            logger.exception("clock duty %s failed", name)
    return done


async def run_loop(runtime: Runtime, *, stop: asyncio.Event, interval: float = TICK_SECONDS, gauges=None) -> None:
    """Tick every ``interval`` seconds until ``stop`` is set; sample ``gauges`` (a GaugeSampler) after each tick."""
    if not crypto_pay_configured(runtime.settings):
        logger.warning(PAYOUTS_PAUSED)
    while not stop.is_set():
        result = await tick(runtime=runtime)
        if any(result.values()):
            logger.info("clock tick: %s", result)
        if gauges is not None:
            try:
                await gauges.sample()
            except Exception:
                logger.exception("sampling gauges failed")
        try:
            await asyncio.wait_for(stop.wait(), timeout=interval)
        except asyncio.TimeoutError:
            pass


def run_clock(args: argparse.Namespace) -> int:
    """`zenith clock`: run the periodic loop until SIGTERM/SIGINT."""
    from zenith.bootstrap import process_lifetime

    settings = get_settings()
    # the last ticks' send spans are flushed on the way out (SIGTERM ends the loop)
    with process_lifetime(settings, role="clock"):
        _run_clock(settings)
    return 0


def _run_clock(settings: Settings) -> None:
    from zenith.actors.gauges import GaugeSampler
    from zenith.bootstrap import start_loop_heartbeat, stop_on_signals
    from zenith.messaging.broker import setup_broker
    from zenith.telemetry.dramatiq_middleware import install_telemetry_middleware

    redis_url = settings.redis_url
    if not redis_url:
        from zenith.storage.embedded import resolve_redis_url

        redis_url = resolve_redis_url(settings)
    broker = setup_broker(settings, redis_url=redis_url, namespace=settings.redis_namespace)
    install_telemetry_middleware(broker)
    runtime = configure_runtime(settings, broker=broker, redis_url=redis_url)

    async def main() -> None:
        stop = stop_on_signals()
        start_loop_heartbeat()  # only under the supervisor
        try:
            await run_loop(
                runtime, stop=stop, interval=float(settings.clock_tick_seconds), gauges=GaugeSampler(runtime)
            )
        finally:
            await runtime.close()

    asyncio.run(main())
    broker.close()
