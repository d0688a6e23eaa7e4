"""Backoff between restarts and the supervisor-wide restart intensity."""

from __future__ import annotations

import random

import pytest

from zenith.supervisor.restarts import Backoff, RestartIntensity, RestartIntensityExceeded


def test_backoff_doubles_up_to_the_cap_and_resets():
    backoff = Backoff(base=0.5, cap=30.0, jitter=0.0)
    assert [backoff.next_delay() for _ in range(9)] == [0.5, 1.0, 2.0, 4.0, 8.0, 16.0, 30.0, 30.0, 30.0]
    backoff.reset()
    assert backoff.next_delay() == 0.5


def test_backoff_jitter_stays_within_its_spread_and_the_cap():
    backoff = Backoff(base=1.0, cap=4.0, jitter=0.2, rng=random.Random(7))
    delays = [backoff.next_delay() for _ in range(6)]
    assert 0.8 <= delays[0] <= 1.2 and 1.6 <= delays[1] <= 2.4
    assert all(d <= 4.0 for d in delays) and len(set(delays)) > 1


def test_intensity_allows_max_restarts_within_the_window_then_raises():
    intensity = RestartIntensity(max_restarts=3, window=10.0)
    for t in (0.0, 1.0, 2.0):
        intensity.record(t)
    with pytest.raises(RestartIntensityExceeded, match="4 exits to restart within 10 s"):
        intensity.record(3.0)
    assert intensity.recent(3.0) == 3  # the refused one is not a restart


def test_intensity_forgets_restarts_older_than_the_window():
    intensity = RestartIntensity(max_restarts=2, window=10.0)
    intensity.record(0.0)
    intensity.record(5.0)
    intensity.record(10.5)  # the one at 0.0 left the window
    assert intensity.recent(10.5) == 2
