"""Storing one view check atomically: snapshot, earnings credit and the video's new stats.

The parsing actor computes what the video has earned in total at its new view count
(domain rules: rate card, minimum views, cap) and calls ``record_check`` inside a unit
of work. The video row is locked, so two checks of the same video (a retry racing a
re-sent message) are serialised, and the credit is keyed by the snapshot, so a replay
of the same check credits nothing.

Trust: a ``judge`` (the parsing actor's, domain.trust rules) looks at the video's
history under that lock; growth it doubts is credited to the creator's held account
(``trust_holds``) instead of available, and its signals are stored with the snapshot.

Campaigns: a video of a budgeted campaign is paid from the campaign's budget account,
never from system:earnings. The campaign row is locked after the video's, so credits of
one campaign take turns and each sees what is really left; a credit the budget cannot
cover is cut to what is left (``domain.campaigns.clamp_to_budget``) and the campaign
closes in the same transaction. Held growth comes out of the budget too. The credit
that closes the campaign, or first leaves it nearly spent, stages its members' notice
(``storage.campaign_life``) in the same transaction: once per campaign.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

import psycopg

from zenith.domain.campaign_admin import CloseReason
from zenith.domain.campaigns import CampaignStatus, clamp_to_budget
from zenith.domain.earnings import delta_to_credit
from zenith.domain.trust import Signal
from zenith.domain.videos import is_tracked
from zenith.storage import campaign_life, campaigns, ledger, outbox, snapshots, trust_holds, trust_signals, videos

# Called under the video's lock, before the new snapshot is stored: the signals about
# the growth from the video's last check to the new one (domain.trust.judge_growth).
GrowthJudge = Callable[[psycopg.AsyncConnection, videos.Video], Awaitable[Sequence[Signal]]]


@dataclass(frozen=True)
class CheckResult:
    video: videos.Video
    snapshot: snapshots.Snapshot
    credited_now: Decimal  # 0.00 on a replay or when nothing new was earned
    replay: bool  # the same snapshot had been stored before
    held_now: Decimal = Decimal("0.00")  # earned but put on hold for review (not in credited_now)
    signals: tuple[Signal, ...] = ()
    # the video's campaign closed with this check: its budget could not cover more
    campaign_spent: campaigns.Campaign | None = None
    # members' notices staged with this check (the campaign nearly spent, or closed): publish after the commit
    campaign_notices: tuple[outbox.OutboxEntry, ...] = ()


async def record_check(
    conn: psycopg.AsyncConnection,
    *,
    video_id: int,
    views: int,
    likes: int,
    comments: int,
    taken_at: datetime,
    earned_total: Decimal,
    next_check_at: datetime | None,
    finished: bool = False,
    title: str | None = None,
    judge: GrowthJudge | None = None,
) -> CheckResult:
    """Store a check of ``video_id`` and credit what it earned since the last one.

    Parameters:
      views, likes, comments: the stats fetched from the platform.
      taken_at: when they were fetched; one snapshot per (video, taken_at).
      earned_total: what the video has earned in all at these views (Decimal, 2 places).
        Credited now: ``domain.earnings.delta_to_credit`` (what is above
        ``video.credited``); views that went down never take money back.
      next_check_at: next re-check (None: no more checks).
      finished: the tracking window is over; the video becomes 'finished'.
      title: refreshed title, if the platform reported one.
      judge: trust rules over the growth; a signal that holds growth sends the new
        earnings to the held account (``held_now``) instead of available.

    Must run inside a transaction (``unit_of_work``). Credits only approved (or just
    finishing) videos.
    """
    video = await videos.get(conn, video_id, for_update=True)
    signals = tuple(await judge(conn, video)) if judge is not None else ()
    snapshot, created = await snapshots.insert(
        conn, video_id=video_id, views=views, likes=likes, comments=comments, taken_at=taken_at
    )
    if not created:
        return CheckResult(video=video, snapshot=snapshot, credited_now=Decimal("0.00"), replay=True)
    earned_total = ledger.check_amount(earned_total) if earned_total != 0 else Decimal("0.00")
    if is_tracked(video.status):
        delta = delta_to_credit(total_now=earned_total, already_credited=video.credited)
    else:
        delta = Decimal("0.00")
    source, spent, budget, left = ledger.EARNINGS, None, None, None
    if delta > 0:
        campaign, remaining = await campaigns.lock_for_credit(conn, video.campaign_id)
        if remaining is not None:  # a budgeted campaign pays out of its budget, never beyond it
            if campaign.status is CampaignStatus.CLOSED:
                delta, exhausted = Decimal("0.00"), False
            else:
                delta, exhausted = clamp_to_budget(delta, remaining)
            # a budget is there: the campaign is budgeted and pays from its own account
            source, budget, left = ledger.budget_account(campaign.id), campaign, remaining - delta
            if exhausted:
                spent = campaign
    credited = video.credited
    hold = delta > 0 and any(signal.holds_growth for signal in signals)
    if hold:
        held = await trust_holds.hold_earning(
            conn,
            user_id=video.user_id,
            video_id=video.id,
            snapshot_id=snapshot.id,
            amount=delta,
            views_before=video.views,
            views_now=views,
            source=source,
        )
        credited = video.credited + delta
    elif delta > 0:
        await ledger.credit_earning(
            conn,
            user_id=video.user_id,
            amount=delta,
            idempotency_key=f"earning:snapshot:{snapshot.id}",
            video_id=video.id,
            snapshot_id=snapshot.id,
            source=source,
        )
        credited = video.credited + delta
    notices: list[outbox.OutboxEntry] = []
    if spent is not None:
        spent, notices = await campaign_life.close_with_notices(
            conn, campaign_id=spent.id, reason=CloseReason.BUDGET_SPENT
        )
    elif budget is not None and left is not None and delta > 0:
        notices = await campaign_life.note_nearly_spent(conn, budget, remaining=left)
    for signal in signals:
        await trust_signals.record(
            conn,
            signal,
            user_id=video.user_id,
            video_id=video.id,
            snapshot_id=snapshot.id,
            hold_id=held.id if hold else None,
            dedup_key=f"snapshot:{snapshot.id}:{signal.kind.value}",
        )
    updated = await videos.update_stats(
        conn,
        video_id=video_id,
        views=views,
        likes=likes,
        comments=comments,
        checked_at=taken_at,
        next_check_at=next_check_at,
        credited=credited,
        title=title,
        finished=finished,
    )
    zero = Decimal("0.00")
    return CheckResult(
        video=updated,
        snapshot=snapshot,
        credited_now=zero if hold else delta,
        replay=False,
        held_now=delta if hold else zero,
        signals=signals,
        campaign_spent=spent,
        campaign_notices=tuple(notices),
    )
