"""When to look at a video's views again.

Young videos are checked often, older ones rarely, and tracking stops at the end of the
tracking window (the last check lands exactly on it, so the final views count). A video
growing fast is checked twice as often, but never more often than a floor.

The schedule is a string of age ranges and intervals, e.g. the default
``"0-24h:1h,24h-72h:3h,72h-7d:12h,7d-:24h"``: up to 24 h old every hour, then every 3 h,
then every 12 h, then daily. Units: s, m, h, d. Ranges must start at 0, follow each
other without gaps or overlaps, and the last one must be open-ended.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal

__all__ = [
    "DEFAULT_CHECK_SCHEDULE",
    "CheckSchedule",
    "NaiveDatetimeError",
    "ScheduleBand",
    "ScheduleError",
    "growth_per_hour",
    "next_check_at",
    "parse_duration",
    "parse_schedule",
]

DEFAULT_CHECK_SCHEDULE = "0-24h:1h,24h-72h:3h,72h-7d:12h,7d-:24h"
_DURATION = re.compile(r"(\d{1,9})([smhd])")
_UNITS = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days"}


class ScheduleError(ValueError):
    """A schedule or duration string is malformed; the message quotes the bad part."""


class NaiveDatetimeError(ValueError):
    """A datetime without a timezone was given; the schedule needs aware datetimes."""


@dataclass(frozen=True)
class ScheduleBand:
    """Videos aged ``start`` <= age < ``end`` (``end`` None: no upper bound) are checked every ``interval``."""

    start: timedelta
    end: timedelta | None
    interval: timedelta

    def covers(self, age: timedelta) -> bool:
        return self.start <= age and (self.end is None or age < self.end)


@dataclass(frozen=True)
class CheckSchedule:
    """A parsed schedule plus the fast-growth rule.

    Parameters:
      bands: contiguous age ranges from 0, the last one open-ended (see `parse_schedule`).
      fast_growth_views_per_hour: above this growth the interval is halved (default 1000).
      fast_growth_floor: a halved interval is never shorter than this (default 15 min);
        a band interval already below it is kept as is.
    """

    bands: tuple[ScheduleBand, ...]
    fast_growth_views_per_hour: float | int | Decimal = 1000
    fast_growth_floor: timedelta = timedelta(minutes=15)

    def __post_init__(self) -> None:
        _check_bands(self.bands)
        if self.fast_growth_views_per_hour < 0:
            raise ScheduleError("fast_growth_views_per_hour must be >= 0")
        if self.fast_growth_floor <= timedelta(0):
            raise ScheduleError("fast_growth_floor must be > 0")

    def interval_for(self, *, age: timedelta, views_per_hour: float | int | Decimal | None = None) -> timedelta:
        """The wait before the next check of a video ``age`` old growing ``views_per_hour``."""
        age = max(age, timedelta(0))
        interval = next(band.interval for band in self.bands if band.covers(age))
        if views_per_hour is not None and views_per_hour > self.fast_growth_views_per_hour:
            interval = max(interval / 2, min(self.fast_growth_floor, interval))
        return interval


def parse_duration(text: str) -> timedelta:
    """``"90m"`` -> 90 minutes; a whole number and one unit of s, m, h, d; ``"0"`` is zero."""
    value = text.strip().lower()
    if value == "0":
        return timedelta(0)
    match = _DURATION.fullmatch(value)
    if match is None:
        raise ScheduleError(f"bad duration {text!r}; use a whole number and s, m, h or d (e.g. '12h')")
    return timedelta(**{_UNITS[match.group(2)]: int(match.group(1))})


def parse_schedule(
    text: str,
    *,
    fast_growth_views_per_hour: float | int | Decimal = 1000,
    fast_growth_floor: timedelta = timedelta(minutes=15),
) -> CheckSchedule:
    """A `CheckSchedule` from ``"0-24h:1h,24h-72h:3h,72h-7d:12h,7d-:24h"``.

    Each comma-separated item is ``start-end:interval`` (``start-:interval`` for the
    last). Raises `ScheduleError` for malformed items, zero intervals, empty ranges,
    gaps, overlaps, or a last range that is not open-ended.
    """
    bands = []
    for raw_item in text.split(","):
        item = raw_item.strip()
        age_range, colon, raw_interval = item.rpartition(":")
        raw_start, dash, raw_end = age_range.partition("-")
        if not colon or not dash or not raw_start.strip():
            raise ScheduleError(f"schedule item {item!r} is not 'start-end:interval' (e.g. '0-24h:1h')")
        end = parse_duration(raw_end) if raw_end.strip() else None
        bands.append(ScheduleBand(start=parse_duration(raw_start), end=end, interval=parse_duration(raw_interval)))
    return CheckSchedule(
        bands=tuple(bands),
        fast_growth_views_per_hour=fast_growth_views_per_hour,
        fast_growth_floor=fast_growth_floor,
    )


def next_check_at(
    *,
    schedule: CheckSchedule,
    submitted_at: datetime,
    now: datetime,
    tracking_window: timedelta,
    views_per_hour: float | int | Decimal | None = None,
) -> datetime | None:
    """When to check the video next, or None when tracking is over.

    Parameters:
      schedule: the intervals by age (`parse_schedule`).
      submitted_at: when the video was submitted (aware).
      now: the time of the check just done (aware).
      tracking_window: how long after ``submitted_at`` views are tracked (> 0).
      views_per_hour: recent growth (`growth_per_hour`), None when unknown.

    The result is never later than ``submitted_at + tracking_window``: the last check
    falls exactly on the end of the window, and a check at or after it returns None.
    Raises `NaiveDatetimeError` for naive datetimes, ValueError for a window <= 0.
    """
    _require_aware(submitted_at=submitted_at, now=now)
    if tracking_window <= timedelta(0):
        raise ValueError(f"tracking_window must be > 0, got {tracking_window}")
    window_end = submitted_at + tracking_window
    if now >= window_end:
        return None
    interval = schedule.interval_for(age=now - submitted_at, views_per_hour=views_per_hour)
    return min(now + interval, window_end)


def growth_per_hour(
    *, views_before: int, checked_before: datetime, views_now: int, checked_now: datetime
) -> float | None:
    """Views gained per hour between two checks; None when the checks are not in order.

    Falling views give a negative number (never "fast").
    """
    _require_aware(checked_before=checked_before, checked_now=checked_now)
    hours = (checked_now - checked_before).total_seconds() / 3600
    if hours <= 0:
        return None
    return (views_now - views_before) / hours


def _require_aware(**moments: datetime) -> None:
    for name, moment in moments.items():
        if not isinstance(moment, datetime):
            raise TypeError(f"{name} must be a datetime, got {type(moment).__name__}")
        if moment.tzinfo is None or moment.utcoffset() is None:
            raise NaiveDatetimeError(f"{name} must be timezone-aware, got {moment.isoformat()}")


def _check_bands(bands: tuple[ScheduleBand, ...]) -> None:
    if not bands:
        raise ScheduleError("schedule has no ranges")
    expected_start = timedelta(0)
    for position, band in enumerate(bands):
        label = f"range {position + 1} ({_show(band.start)}-{_show(band.end)})"
        if band.start != expected_start:
            problem = (
                "overlaps the previous one" if band.start < expected_start else "leaves a gap after the previous one"
            )
            if position == 0:
                problem = "must start at 0"
            raise ScheduleError(f"{label} {problem}; expected it to start at {_show(expected_start)}")
        if band.interval <= timedelta(0):
            raise ScheduleError(f"{label} has a zero interval")
        if band.end is None:
            if position != len(bands) - 1:
                raise ScheduleError(f"{label} is open-ended but is not the last range")
            return
        if band.end <= band.start:
            raise ScheduleError(f"{label} is empty: its end is not after its start")
        expected_start = band.end
    raise ScheduleError(f"the last range must be open-ended (e.g. '{_show(expected_start)}-:24h')")


def _show(duration: timedelta | None) -> str:
    if duration is None:
        return ""
    seconds = int(duration.total_seconds())
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds and seconds % size == 0:
            return f"{seconds // size}{unit}"
    return f"{seconds}s" if seconds else "0"
