"""Is a video's new growth like its own past and its creator's other videos?

The views gained since the last snapshot, per hour, are compared with a baseline: the
fastest growth this video showed before (intervals that were held do not count), the
fastest growth of the creator's other videos, the video's average rate over its life so
far (young videos grow fast), and a floor. Growth above ``spike_factor`` times that
baseline is a SPIKE. Almost no new likes per new view is LOW_ENGAGEMENT, judged over the
latest checks that together gained ``engagement_min_views`` (a steady drip of bought
views is caught even when each interval is small; the span never reaches back across a
spike, so a bought jump does not drag down the organic growth after it). Growth
seen later than ``late_grace`` after the tracking window closed is LATE_GROWTH. Any of
them puts the new growth on hold for an admin; otherwise it is credited as usual.

The first check of a video has nothing to compare with: only plausibility applies.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal

from zenith.domain.trust.signals import Signal, SignalKind

__all__ = ["GrowthPoint", "GrowthRules", "GrowthVerdict", "judge_growth", "peak_rate"]


@dataclass(frozen=True)
class GrowthPoint:
    """One snapshot: when, views, likes (None if hidden), whether the growth that ended
    at it was held (a held interval never raises the baseline) and whether it was held
    as a spike (the engagement span does not reach back across it)."""

    taken_at: datetime
    views: int
    likes: int | None = None
    held: bool = False
    spike: bool = False


@dataclass(frozen=True)
class GrowthRules:
    """Parameters (settings in brackets, defaults here):
    spike_factor: growth per hour above this many times the baseline is a spike (TRUST_SPIKE_FACTOR, 10).
    rate_floor_per_hour: the baseline is never below this (TRUST_RATE_FLOOR_PER_HOUR, 1000 views/h).
    min_views_for_signal: fewer new views than this are never a spike or late growth (TRUST_MIN_VIEWS_FOR_SIGNAL, 5000).
    min_likes_per_view: new likes per new view below this is low engagement (TRUST_MIN_LIKES_PER_VIEW, 0.002).
    engagement_min_views: low engagement is judged over the latest checks that gained at least this many views (TRUST_ENGAGEMENT_MIN_VIEWS, 20000).
    late_grace: growth seen this long after the tracking window closed is late (TRUST_LATE_GRACE_HOURS, 24 h).
    min_interval: shorter intervals count as this long, so two checks a minute apart do not look explosive (15 min).
    """

    spike_factor: Decimal = Decimal("10")
    rate_floor_per_hour: int = 1000
    min_views_for_signal: int = 5000
    min_likes_per_view: Decimal = Decimal("0.002")
    engagement_min_views: int = 20_000
    late_grace: timedelta = timedelta(hours=24)
    min_interval: timedelta = timedelta(minutes=15)


@dataclass(frozen=True)
class GrowthVerdict:
    signals: tuple[Signal, ...] = ()

    @property
    def hold(self) -> bool:
        """True: credit the new growth to the held account, for an admin to decide."""
        return any(signal.holds_growth for signal in self.signals)


def _hours(start: datetime, end: datetime, floor: timedelta) -> float:
    return max(end - start, floor).total_seconds() / 3600


def peak_rate(points: Sequence[GrowthPoint], *, min_interval: timedelta = timedelta(minutes=15)) -> float:
    """The fastest growth (views/h) between consecutive snapshots, held intervals excluded; 0 if none."""
    best = 0.0
    for before, after in zip(points, points[1:], strict=False):
        if not after.held and after.views > before.views:
            best = max(best, (after.views - before.views) / _hours(before.taken_at, after.taken_at, min_interval))
    return best


def _engagement_start(history: Sequence[GrowthPoint], new: GrowthPoint, min_views: int) -> GrowthPoint | None:
    """The latest point at least ``min_views`` views before ``new``, not across a spike; None if none."""
    for point in reversed(history):
        if point.likes is None:
            return None
        if new.views - point.views >= min_views:
            return point
        if point.spike:
            return None
    return None


def judge_growth(
    *,
    history: Sequence[GrowthPoint],
    new: GrowthPoint,
    rules: GrowthRules,
    creator_peak_per_hour: float = 0.0,
    published_at: datetime | None = None,
    window_closes_at: datetime | None = None,
) -> GrowthVerdict:
    """Signals about the growth from the last point of ``history`` (oldest first) to ``new``.

    Parameters:
      creator_peak_per_hour: the fastest growth of the creator's other videos (views/h).
      published_at: when the video went online (None: unknown; its lifetime rate is not used).
      window_closes_at: end of the tracking window (None: not known).
    """
    if not history:
        return GrowthVerdict()
    last = history[-1]
    gained = new.views - last.views
    if gained <= 0:
        return GrowthVerdict()
    hours = _hours(last.taken_at, new.taken_at, rules.min_interval)
    rate = gained / hours
    lifetime = 0.0
    if published_at is not None and last.taken_at > published_at:
        lifetime = last.views / _hours(published_at, last.taken_at, rules.min_interval)
    own_peak = peak_rate(history, min_interval=rules.min_interval)
    baseline = max(own_peak, creator_peak_per_hour, lifetime, float(rules.rate_floor_per_hour))
    common = {"views_before": last.views, "views_now": new.views, "gained": gained, "hours": round(hours, 2)}
    signals: list[Signal] = []
    big_enough = gained >= rules.min_views_for_signal
    if big_enough and rate > float(rules.spike_factor) * baseline:
        signals.append(
            Signal(
                SignalKind.SPIKE,
                {
                    **common,
                    "views_per_hour": round(rate),
                    "baseline_per_hour": round(baseline),
                    "own_peak_per_hour": round(own_peak),
                    "creator_peak_per_hour": round(creator_peak_per_hour),
                    "lifetime_per_hour": round(lifetime),
                    "factor": str(rules.spike_factor),
                },
            )
        )
    start = _engagement_start(history, new, rules.engagement_min_views) if new.likes is not None else None
    # likes hidden (None) at either end: nothing to compare (_engagement_start never returns such a point)
    if new.likes is not None and start is not None and start.likes is not None:
        ratio = max(0, new.likes - start.likes) / (new.views - start.views)
        if ratio < float(rules.min_likes_per_view):
            signals.append(
                Signal(
                    SignalKind.LOW_ENGAGEMENT,
                    {
                        **common,
                        "span_since": start.taken_at.isoformat(),
                        "span_views": new.views - start.views,
                        "likes_before": start.likes,
                        "likes_now": new.likes,
                        "likes_per_view": round(ratio, 6),
                        "minimum": str(rules.min_likes_per_view),
                    },
                )
            )
    if big_enough and window_closes_at is not None and new.taken_at > window_closes_at + rules.late_grace:
        signals.append(
            Signal(
                SignalKind.LATE_GROWTH,
                {
                    **common,
                    "window_closed_at": window_closes_at.isoformat(),
                    "checked_at": new.taken_at.isoformat(),
                },
            )
        )
    return GrowthVerdict(tuple(signals))
