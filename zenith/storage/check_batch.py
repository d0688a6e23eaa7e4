"""Storing the checks of one batch message in one transaction, with multi-row writes.

``record_checks`` is ``checks.record_check`` for many videos at one ``taken_at``: the same
rules and results, in about ten statements for the whole batch instead of about ten per
video. In order, all in the caller's transaction:

1. the videos' rows are locked in id order (two batches, or a batch and a single check,
   never deadlock: a single check locks one video, then its campaign, then its accounts);
2. the trust judge looks at every video's history under those locks (one statement);
3. the snapshots go in with one ``INSERT ... SELECT FROM unnest`` (``ON CONFLICT DO
   NOTHING``: a replayed snapshot is a replay, as in ``record_check``);
4. each video's credit is decided in Python by the domain rules under the locks: what
   its new total is above ``videos.credited``, cut to what its campaign's budget holds
   (campaign rows locked in id order, the credits of one campaign taken in video order
   against one running remainder);
5. the ledger transfers (credits and holds) go in with ``ledger.transfer_many``: keys
   ``earning:snapshot:N`` / ``hold:snapshot:N`` as before, ``ON CONFLICT DO NOTHING``;
6. the videos' stats, schedule and credited totals with one ``UPDATE ... FROM unnest``.

Idempotency is the single path's: the credit is the new total minus what the locked row
says was credited, so a redelivered batch (a new ``taken_at``) credits nothing twice, and a
batch whose earlier attempt committed part of it (per-video fallback) credits only the rest.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

import psycopg

from zenith.domain.campaigns import CampaignStatus, clamp_to_budget
from zenith.domain.earnings import delta_to_credit
from zenith.domain.trust import Signal
from zenith.domain.videos import is_tracked
from zenith.storage import campaigns, ledger, snapshots, trust_holds, trust_signals, videos
from zenith.storage.checks import CheckResult

# Called under the videos' locks, before the snapshots are stored: each video's signals
# about its growth since its last check (domain.trust.judge_growth), by video id.
BatchJudge = Callable[[psycopg.AsyncConnection, Sequence[videos.Video]], Awaitable[Mapping[int, Sequence[Signal]]]]

ZERO = Decimal("0.00")


@dataclass(frozen=True)
class CheckInput:
    """One video's check: the arguments of ``checks.record_check`` but ``taken_at`` and ``judge``."""

    video_id: int
    views: int
    likes: int
    comments: int
    earned_total: Decimal
    next_check_at: datetime | None
    finished: bool = False
    title: str | None = None


async def record_checks(
    conn: psycopg.AsyncConnection,
    checks: Sequence[CheckInput],
    *,
    taken_at: datetime,
    judge: BatchJudge | None = None,
) -> dict[int, CheckResult]:
    """Store the checks of many videos and credit what each earned since its last check.

    Returns ``{video_id: CheckResult}`` with the meaning of ``record_check``'s result.
    Raises ``videos.VideoNotFound`` when a video does not exist (the caller falls back to
    one transaction per video, so the others are stored). Must run inside a transaction.
    """
    by_id = {check.video_id: check for check in checks}
    if len(by_id) != len(checks):
        raise ValueError("record_checks takes each video once")
    locked = await videos.lock_many(conn, list(by_id))
    missing = set(by_id) - set(locked)
    if missing:
        raise videos.VideoNotFound(f"no video with id {min(missing)}")
    ordered = [locked[video_id] for video_id in sorted(locked)]
    signals = dict(await judge(conn, ordered)) if judge is not None else {}
    stored = await snapshots.insert_many(
        conn, [(v.id, by_id[v.id].views, by_id[v.id].likes, by_id[v.id].comments) for v in ordered], taken_at=taken_at
    )
    results: dict[int, CheckResult] = {}
    fresh: list[videos.Video] = []
    for video in ordered:
        snapshot, created = stored[video.id]
        if created:
            fresh.append(video)
        else:
            results[video.id] = CheckResult(video=video, snapshot=snapshot, credited_now=ZERO, replay=True)
    deltas = {video.id: _delta(video, by_id[video.id].earned_total) for video in fresh}
    sources, spent = await _charge_campaigns(conn, [video for video in fresh if deltas[video.id] > 0], deltas)

    transfers: list[ledger.TransferRequest] = []
    holds: list[trust_holds.NewHold] = []
    for video in fresh:
        delta, snapshot = deltas[video.id], stored[video.id][0]
        if delta <= 0:
            continue
        source = sources.get(video.id, ledger.EARNINGS)
        if any(signal.holds_growth for signal in signals.get(video.id, ())):
            hold = trust_holds.NewHold(
                user_id=video.user_id,
                video_id=video.id,
                snapshot_id=snapshot.id,
                amount=delta,
                views_before=video.views,
                views_now=by_id[video.id].views,
                source=source,
            )
            holds.append(hold)
            transfers.append(trust_holds.hold_transfer(hold))
        else:
            transfers.append(
                ledger.TransferRequest(
                    from_account=source,
                    to_account=ledger.available_account(video.user_id),
                    amount=delta,
                    idempotency_key=f"earning:snapshot:{snapshot.id}",
                    kind="earning",
                    video_id=video.id,
                    snapshot_id=snapshot.id,
                )
            )
    opened = await trust_holds.open_many(conn, holds)
    await ledger.transfer_many(conn, transfers)
    closed = {}
    for campaign_id in sorted(spent):
        closed[campaign_id] = await campaigns.close(conn, campaign_id=campaign_id, reason="budget spent")
    held_ids = {hold.video_id for hold in holds}
    for video in fresh:
        snapshot = stored[video.id][0]
        hold_row = opened.get(snapshot.id) if video.id in held_ids else None
        for signal in signals.get(video.id, ()):
            await trust_signals.record(
                conn,
                signal,
                user_id=video.user_id,
                video_id=video.id,
                snapshot_id=snapshot.id,
                hold_id=hold_row.id if hold_row else None,
                dedup_key=f"snapshot:{snapshot.id}:{signal.kind.value}",
            )
    updated = await videos.update_stats_many(
        conn,
        [
            videos.StatsUpdate(
                video_id=video.id,
                views=by_id[video.id].views,
                likes=by_id[video.id].likes,
                comments=by_id[video.id].comments,
                next_check_at=by_id[video.id].next_check_at,
                credited=video.credited + deltas[video.id],
                title=by_id[video.id].title,
                finished=by_id[video.id].finished,
            )
            for video in fresh
        ],
        checked_at=taken_at,
    )
    for video in fresh:
        delta, held = deltas[video.id], video.id in held_ids
        campaign_id = video.campaign_id
        results[video.id] = CheckResult(
            video=updated[video.id],
            snapshot=stored[video.id][0],
            credited_now=ZERO if held else delta,
            replay=False,
            held_now=delta if held else ZERO,
            signals=tuple(signals.get(video.id, ())),
            # the campaign's closing is told once: with the credit that spent it
            campaign_spent=closed.get(campaign_id) if spent.get(campaign_id) == video.id else None,
        )
    return results


def _delta(video: videos.Video, earned_total: Decimal) -> Decimal:
    """What the video earns now, before its campaign's budget: as ``record_check`` decides it."""
    total = ledger.check_amount(earned_total) if earned_total != 0 else ZERO
    return delta_to_credit(total_now=total, already_credited=video.credited) if is_tracked(video.status) else ZERO


async def _charge_campaigns(
    conn: psycopg.AsyncConnection, earning: list[videos.Video], deltas: dict[int, Decimal]
) -> tuple[dict[int, str], dict[int, int]]:
    """Cut ``deltas`` (in place) to what each budgeted campaign holds, credits taken in video order.

    Returns ({video_id: budget account the credit comes from}, {campaign_id: id of the video
    whose credit spent the budget}). Campaign rows are locked in id order, after the videos.
    """
    sources: dict[int, str] = {}
    spent: dict[int, int] = {}
    for campaign_id in sorted({video.campaign_id for video in earning}):
        campaign, remaining = await campaigns.lock_for_credit(conn, campaign_id)
        if remaining is None or campaign.budget_account is None:
            continue  # the default program pays from system:earnings, without a budget
        for video in (video for video in earning if video.campaign_id == campaign_id):
            if campaign.status is CampaignStatus.CLOSED or campaign_id in spent:
                delta, exhausted = ZERO, False
            else:
                delta, exhausted = clamp_to_budget(deltas[video.id], remaining)
            deltas[video.id] = delta
            remaining -= delta
            sources[video.id] = campaign.budget_account
            if exhausted:
                spent[campaign_id] = video.id
    return sources, spent
