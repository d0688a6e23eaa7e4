"""Re-check schedule: parsing, intervals by age, fast growth, the end of the tracking window."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from decimal import Decimal

import pytest
from freezegun import freeze_time

from zenith.domain.schedule import (
    DEFAULT_CHECK_SCHEDULE,
    CheckSchedule,
    NaiveDatetimeError,
    ScheduleBand,
    ScheduleError,
    growth_per_hour,
    next_check_at,
    parse_duration,
    parse_schedule,
)

H = timedelta(hours=1)
D = timedelta(days=1)
SUBMITTED = datetime(2025, 3, 1, 12, 0, tzinfo=timezone.utc)
WINDOW = timedelta(days=30)
SCHEDULE = parse_schedule(DEFAULT_CHECK_SCHEDULE)


def utc_now() -> datetime:
    return datetime.now(timezone.utc)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("30s", timedelta(seconds=30)),
        ("15m", timedelta(minutes=15)),
        ("1h", H),
        ("7d", 7 * D),
        (" 24H ", D),
        ("0", timedelta(0)),
    ],
)
def test_parse_duration(text, expected):
    assert parse_duration(text) == expected


@pytest.mark.parametrize("text", ["", "h", "1", "1.5h", "-1h", "1w", "1h30m", "10 h"])
def test_parse_duration_rejects_bad_text(text):
    with pytest.raises(ScheduleError, match="bad duration"):
        parse_duration(text)


def test_default_schedule_bands():
    assert SCHEDULE.bands == (
        ScheduleBand(start=timedelta(0), end=24 * H, interval=H),
        ScheduleBand(start=24 * H, end=72 * H, interval=3 * H),
        ScheduleBand(start=72 * H, end=7 * D, interval=12 * H),
        ScheduleBand(start=7 * D, end=None, interval=24 * H),
    )


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "not 'start-end:interval'"),
        ("0-24h", "not 'start-end:interval'"),
        ("0:1h", "not 'start-end:interval'"),
        ("-24h:1h", "not 'start-end:interval'"),
        ("0-24h:1h,,24h-:1d", "not 'start-end:interval'"),
        ("0-24x:1h,24h-:1d", "bad duration"),
        ("1h-24h:1h,24h-:1d", "must start at 0"),
        ("0-24h:1h,25h-:1d", "leaves a gap"),
        ("0-24h:1h,23h-:1d", "overlaps the previous one"),
        ("0-24h:1h,24h-72h:3h", "last range must be open-ended"),
        ("0-:1h,24h-:1d", "open-ended but is not the last"),
        ("0-0:1h,0-:1d", "is empty"),
        ("0-24h:0,24h-:1d", "zero interval"),
    ],
)
def test_malformed_schedules_are_explained(text, message):
    with pytest.raises(ScheduleError, match=message):
        parse_schedule(text)


def test_schedule_rejects_bad_fast_growth_settings():
    with pytest.raises(ScheduleError):
        parse_schedule(DEFAULT_CHECK_SCHEDULE, fast_growth_floor=timedelta(0))
    with pytest.raises(ScheduleError):
        parse_schedule(DEFAULT_CHECK_SCHEDULE, fast_growth_views_per_hour=-1)
    with pytest.raises(ScheduleError):
        CheckSchedule(bands=())


@pytest.mark.parametrize(
    ("age", "interval"),
    [
        (timedelta(0), H),
        (23 * H + timedelta(minutes=59), H),
        (24 * H, 3 * H),
        (71 * H, 3 * H),
        (72 * H, 12 * H),
        (7 * D - timedelta(seconds=1), 12 * H),
        (7 * D, 24 * H),
        (20 * D, 24 * H),
    ],
)
def test_interval_depends_on_age(age, interval):
    now = SUBMITTED + age
    assert next_check_at(schedule=SCHEDULE, submitted_at=SUBMITTED, now=now, tracking_window=WINDOW) == now + interval


@pytest.mark.parametrize(
    ("age", "views_per_hour", "interval"),
    [
        (2 * H, 1000, H),  # at the threshold: not fast
        (2 * H, 1001, 30 * timedelta(minutes=1)),
        (2 * H, Decimal("5000"), 30 * timedelta(minutes=1)),
        (30 * H, 2000.5, 90 * timedelta(minutes=1)),
        (10 * D, 10**6, 12 * H),
        (2 * H, -500, H),  # falling views are not growth
        (2 * H, None, H),
    ],
)
def test_fast_growth_halves_the_interval(age, views_per_hour, interval):
    now = SUBMITTED + age
    result = next_check_at(
        schedule=SCHEDULE, submitted_at=SUBMITTED, now=now, tracking_window=WINDOW, views_per_hour=views_per_hour
    )
    assert result == now + interval


def test_fast_growth_never_goes_below_the_floor():
    schedule = parse_schedule("0-1h:20m,1h-:10m", fast_growth_floor=timedelta(minutes=15))
    assert schedule.interval_for(age=timedelta(0), views_per_hour=5000) == timedelta(minutes=15)
    # a band already below the floor is kept, not stretched up to it
    assert schedule.interval_for(age=2 * H, views_per_hour=5000) == timedelta(minutes=10)


def test_threshold_is_configurable():
    schedule = parse_schedule(DEFAULT_CHECK_SCHEDULE, fast_growth_views_per_hour=100)
    assert schedule.interval_for(age=timedelta(0), views_per_hour=150) == timedelta(minutes=30)


def test_last_check_lands_on_the_end_of_the_window_then_stops():
    window_end = SUBMITTED + WINDOW
    almost = window_end - 2 * H
    assert next_check_at(schedule=SCHEDULE, submitted_at=SUBMITTED, now=almost, tracking_window=WINDOW) == window_end
    assert next_check_at(schedule=SCHEDULE, submitted_at=SUBMITTED, now=window_end, tracking_window=WINDOW) is None
    late = window_end + 5 * D
    assert next_check_at(schedule=SCHEDULE, submitted_at=SUBMITTED, now=late, tracking_window=WINDOW) is None


def test_clock_before_submission_counts_as_age_zero():
    now = SUBMITTED - timedelta(minutes=5)
    assert next_check_at(schedule=SCHEDULE, submitted_at=SUBMITTED, now=now, tracking_window=WINDOW) == now + H


def test_other_timezones_are_fine_and_kept():
    moscow = timezone(timedelta(hours=3))
    now = (SUBMITTED + 2 * H).astimezone(moscow)
    result = next_check_at(schedule=SCHEDULE, submitted_at=SUBMITTED, now=now, tracking_window=WINDOW)
    assert result == now + H
    assert result.utcoffset() == timedelta(hours=3)


def test_naive_datetimes_are_refused():
    naive = datetime(2025, 3, 1, 12, 0)
    with pytest.raises(NaiveDatetimeError, match="submitted_at"):
        next_check_at(schedule=SCHEDULE, submitted_at=naive, now=SUBMITTED, tracking_window=WINDOW)
    with pytest.raises(NaiveDatetimeError, match="now"):
        next_check_at(schedule=SCHEDULE, submitted_at=SUBMITTED, now=naive, tracking_window=WINDOW)
    with pytest.raises(ValueError):
        next_check_at(schedule=SCHEDULE, submitted_at=SUBMITTED, now=SUBMITTED, tracking_window=timedelta(0))


def test_growth_per_hour():
    later = SUBMITTED + timedelta(minutes=30)
    assert growth_per_hour(views_before=1_000, checked_before=SUBMITTED, views_now=1_600, checked_now=later) == 1_200
    assert growth_per_hour(views_before=1_000, checked_before=SUBMITTED, views_now=900, checked_now=later) == -200
    assert growth_per_hour(views_before=1_000, checked_before=later, views_now=2_000, checked_now=SUBMITTED) is None
    assert growth_per_hour(views_before=1_000, checked_before=SUBMITTED, views_now=2_000, checked_now=SUBMITTED) is None
    with pytest.raises(NaiveDatetimeError):
        growth_per_hour(views_before=0, checked_before=SUBMITTED.replace(tzinfo=None), views_now=1, checked_now=later)


def walk_the_clock(*, window: timedelta, growth: float | None = None) -> list[datetime]:
    """Follow the schedule in frozen time from submission to the end, returning every check time."""
    with freeze_time(SUBMITTED) as clock:
        submitted_at = utc_now()
        checks = []
        next_at: datetime | None = submitted_at
        while next_at is not None:
            clock.move_to(next_at)
            checks.append(utc_now())
            next_at = next_check_at(
                schedule=SCHEDULE,
                submitted_at=submitted_at,
                now=utc_now(),
                tracking_window=window,
                views_per_hour=growth,
            )
            assert len(checks) < 10_000
    return checks


def test_a_whole_tracking_window_in_frozen_time():
    checks = walk_the_clock(window=WINDOW)
    # 24 hourly (0..23h), 16 every 3 h (24..69h), 8 every 12 h (72h..156h), then daily 7d..29d (23),
    # and the final check exactly at 30 days
    assert len(checks) == 24 + 16 + 8 + 23 + 1
    assert checks[0] == SUBMITTED
    assert checks[-1] == SUBMITTED + WINDOW
    assert checks[24] == SUBMITTED + 24 * H
    gaps = [later - earlier for earlier, later in zip(checks, checks[1:], strict=False)]
    assert max(gaps) == 24 * H
    assert min(gaps) > timedelta(0)


def test_fast_growth_in_frozen_time_checks_twice_as_often_while_young():
    checks = walk_the_clock(window=D, growth=5_000)
    assert len(checks) == 48 + 1
    assert checks[1] - checks[0] == 30 * timedelta(minutes=1)
    assert checks[-1] == SUBMITTED + D


def test_short_window_ends_mid_interval():
    checks = walk_the_clock(window=timedelta(hours=2, minutes=30))
    assert checks == [SUBMITTED, SUBMITTED + H, SUBMITTED + 2 * H, SUBMITTED + timedelta(hours=2, minutes=30)]
