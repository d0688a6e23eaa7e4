"""The parsing actor's trust gate between a platform's answer and the ledger.

An answer that cannot be real (domain.trust.plausibility) is refused: nothing is stored
as the video's stats and nothing is credited; the refusal is kept as an 'implausible'
signal with the answer's numbers and the video's next check is scheduled as usual. A
plausible answer goes on to ``checks.record_check`` with a growth judge, which decides
under the video's lock whether the new growth is credited or held for review.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import datetime, timedelta
from functools import lru_cache

import psycopg

from zenith.config import Settings
from zenith.domain.trust import GrowthPoint, Signal, TrustPolicy, check_answer, judge_growth
from zenith.platforms.base import VideoStats
from zenith.storage import trust_holds, trust_signals, videos
from zenith.storage.check_batch import BatchJudge
from zenith.storage.checks import GrowthJudge

logger = logging.getLogger(__name__)

# the creator's other videos are compared over this much of their recent history
PEER_HISTORY = timedelta(days=60)


@lru_cache(maxsize=8)
def trust_policy(settings: Settings) -> TrustPolicy:
    return TrustPolicy.from_settings(settings)


def refusal(stats: VideoStats, policy: TrustPolicy) -> Signal | None:
    """An 'implausible' signal if the answer cannot be real, else None."""
    return check_answer(views=stats.views, likes=stats.likes, comments=stats.comments, limits=policy.limits)


async def record_refusal(
    conn: psycopg.AsyncConnection,
    *,
    video: videos.Video,
    signal: Signal,
    taken_at: datetime,
    next_check_at: datetime | None,
) -> None:
    """Keep the refused answer as evidence and move the video's schedule on; its stats and money stay."""
    await trust_signals.record(
        conn, signal, user_id=video.user_id, video_id=video.id, dedup_key=f"refused:{video.id}:{taken_at.isoformat()}"
    )
    await videos.update_stats(
        conn,
        video_id=video.id,
        views=video.views,
        likes=video.likes,
        comments=video.comments,
        checked_at=video.last_checked_at,
        next_check_at=next_check_at,
        finished=next_check_at is None,
    )
    logger.warning(
        "video %s: platform answer refused (%s %s=%s), nothing credited",
        video.id,
        signal.evidence.get("reason"),
        signal.evidence.get("field"),
        signal.evidence.get("value"),
    )


def growth_judge(
    policy: TrustPolicy, *, stats: VideoStats, taken_at: datetime, tracking_window: timedelta
) -> GrowthJudge:
    """The judge ``record_check`` calls under the video's lock: its history, its creator's
    other videos, and the domain's growth rules."""

    async def judge(conn: psycopg.AsyncConnection, video: videos.Video) -> tuple[Signal, ...]:
        history = await trust_holds.video_history(conn, video.id)
        if not history:
            return ()
        peak = await trust_holds.creator_peak_per_hour(
            conn,
            user_id=video.user_id,
            except_video_id=video.id,
            since=PEER_HISTORY,
            min_hours=policy.growth.min_interval.total_seconds() / 3600,
        )
        verdict = judge_growth(
            history=history,
            new=GrowthPoint(taken_at=taken_at, views=stats.views, likes=stats.likes),
            rules=policy.growth,
            creator_peak_per_hour=peak,
            published_at=video.published_at,
            window_closes_at=video.submitted_at + tracking_window,
        )
        if verdict.hold:
            logger.warning(
                "video %s: growth %s -> %s held for review (%s)",
                video.id,
                history[-1].views,
                stats.views,
                ", ".join(signal.kind.value for signal in verdict.signals),
            )
        return verdict.signals

    return judge


def growth_judge_many(
    policy: TrustPolicy, *, stats: dict[int, VideoStats], taken_at: datetime, tracking_window: timedelta
) -> BatchJudge:
    """``growth_judge`` for a batch (``check_batch.record_checks``): the videos' histories and
    their creators' other videos read in two statements, the same domain rules per video."""

    async def judge(conn: psycopg.AsyncConnection, batch: Sequence[videos.Video]) -> dict[int, tuple[Signal, ...]]:
        histories = await trust_holds.video_histories(conn, [video.id for video in batch])
        rechecked = [video for video in batch if histories.get(video.id)]
        if not rechecked:
            return {}
        peaks = await trust_holds.peaks_per_video(
            conn,
            user_ids=[video.user_id for video in rechecked],
            since=PEER_HISTORY,
            min_hours=policy.growth.min_interval.total_seconds() / 3600,
        )
        verdicts: dict[int, tuple[Signal, ...]] = {}
        for video in rechecked:
            history, new = histories[video.id], stats[video.id]
            others = [peak for video_id, peak in peaks.get(video.user_id, {}).items() if video_id != video.id]
            verdict = judge_growth(
                history=history,
                new=GrowthPoint(taken_at=taken_at, views=new.views, likes=new.likes),
                rules=policy.growth,
                creator_peak_per_hour=max(others, default=0.0),
                published_at=video.published_at,
                window_closes_at=video.submitted_at + tracking_window,
            )
            if verdict.hold:
                logger.warning(
                    "video %s: growth %s -> %s held for review (%s)",
                    video.id,
                    history[-1].views,
                    new.views,
                    ", ".join(signal.kind.value for signal in verdict.signals),
                )
            verdicts[video.id] = tuple(verdict.signals)
        return verdicts

    return judge
