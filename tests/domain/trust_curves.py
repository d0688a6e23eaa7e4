"""View curves shaped like real videos (organic) and like bought views (fraudulent).

Each curve is the cumulative views and likes of one video at the moments the default
check schedule looks at it (hourly for a day, every 3 h to day 3, every 12 h to day 7,
then daily to day 30). Organic curves follow published shapes: a steady channel video,
a video that goes viral on its third day and fades, and a launch that decays. Noise is
seeded, so every run sees the same numbers.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

from zenith.domain.trust import GrowthPoint

START = datetime(2026, 11, 1, 12, 0, tzinfo=timezone.utc)


def check_hours(days: int = 30) -> list[float]:
    """Video ages (hours) at which the default schedule checks it."""
    hours, age = [], 0.0
    while age < days * 24:
        hours.append(age)
        age += 1 if age < 24 else 3 if age < 72 else 12 if age < 168 else 24
    hours.append(days * 24.0)
    return hours


@dataclass(frozen=True)
class Curve:
    name: str
    points: list[GrowthPoint]
    organic: bool


def _build(
    name: str,
    rate_at,
    *,
    organic: bool,
    likes_per_view: float = 0.035,
    seed: int = 1,
    bought: dict[float, int] | None = None,
    submitted_after: float = 0.0,
) -> Curve:
    """Integrate ``rate_at(hour)`` views/h (with daily rhythm and noise) and sample it at check times.

    The video is published at START and submitted ``submitted_after`` hours later; the
    checks follow the schedule from the submission. ``bought``: hour since publication
    -> views added at once just before that check, with no likes.
    """
    rng = random.Random(seed)
    views, likes, points, age = 0.0, 0.0, [], 0.0
    checks = [submitted_after + hour for hour in check_hours()]
    for hour in checks:
        while age < hour:  # integrate in 10-minute steps
            step = min(1 / 6, hour - age)
            rhythm = 1 + 0.35 * math.sin((age % 24) / 24 * 2 * math.pi)  # more views in the evening
            gained = max(0.0, rate_at(age) * rhythm * step * rng.uniform(0.8, 1.2))
            views += gained
            likes += gained * likes_per_view * rng.uniform(0.7, 1.3)
            age += step
        if bought and hour in bought:
            views += bought[hour]
        points.append(GrowthPoint(taken_at=START + timedelta(hours=hour), views=int(views), likes=int(likes)))
    return Curve(name, points, organic)


def organic_curves() -> list[Curve]:
    return [
        # a mid-size channel: a few hundred views an hour, every day, for a month
        _build("steady growth", lambda h: 400, organic=True, seed=11),
        # quiet for two days, then a viral day (ramps up over hours to 80k/h, peaks, fades)
        _build("viral day", lambda h: 250 + 80_000 * math.exp(-(((h - 60) / 7) ** 2)), organic=True, seed=12),
        # a launch: 6,000/h at first, halving every 10 hours, then a long tail
        _build("slow decay", lambda h: 6000 * 0.5 ** (h / 10) + 40, organic=True, seed=13),
        # a big creator's launch: huge from the first hour, decaying over days
        # (submitted an hour after publication, as creators do once the video is up)
        _build(
            "big launch decay",
            lambda h: 120_000 * 0.5 ** (h / 18) + 500,
            organic=True,
            seed=14,
            likes_per_view=0.05,
            submitted_after=1.0,
        ),
        # a second wave: a week-old video picked up by recommendations, growing for two days
        _build("second wave", lambda h: 150 + 9_000 * math.exp(-(((h - 200) / 20) ** 2)), organic=True, seed=15),
        # a low-engagement niche (few likes per view, still organic)
        _build("quiet audience", lambda h: 900, organic=True, seed=16, likes_per_view=0.008),
    ]


def fraudulent_curves() -> list[Curve]:
    return [
        # 100,000 views bought at once in the first day, no likes with them
        _build("bought spike day 1", lambda h: 300, organic=False, seed=21, bought={8.0: 100_000}),
        # 300,000 views bought over one 12-hour interval on day 4
        _build("bought spike day 4", lambda h: 200, organic=False, seed=22, bought={108.0: 300_000}),
        # 1,000,000 views bought after three weeks of quiet
        _build("bought spike week 3", lambda h: 120, organic=False, seed=23, bought={504.0: 1_000_000}),
        # a bot farm dripping views all month with almost no likes
        _build("bot drip", lambda h: 3000, organic=False, seed=24, likes_per_view=0.0002),
    ]
