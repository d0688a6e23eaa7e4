"""The trust layer on the credit path, through the real worker and the fake platforms.

Absurd answers never reach an available balance; a real-shaped organic curve replayed
check by check is never held; bought views are held, not credited. The checks run at
the real time: between two of them the test moves the video's stored history back by
the curve's interval, so the worker sees the hours of the curve pass.
"""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta, timezone
from decimal import Decimal

import pytest

from tests.actors.conftest import eventually, new_tiktok_id, new_youtube_id
from tests.domain.trust_curves import START, Curve, fraudulent_curves, organic_curves
from tests.view_history import approved_video, let_time_pass, snapshot_count
from zenith.messaging.contract import CHECK_VIDEOS, send
from zenith.storage import ledger, trust_holds, videos
from zenith.storage.db import fetch_all
from zenith.storage.ledger_check import check_ledger


async def _signals(pool, user_id: int) -> list[dict]:
    async with pool.connection() as conn:
        return await fetch_all(
            conn, "SELECT kind, evidence, hold_id FROM trust_signals WHERE user_id = %s ORDER BY id", (user_id,)
        )


async def _balances(pool, user_id: int) -> ledger.UserBalances:
    async with pool.connection() as conn:
        return await ledger.balances(conn, user_id)


async def _check_once(worker, pool, video_id: int) -> None:
    """One check through the worker; returns once its snapshot is stored."""
    before = await snapshot_count(pool, video_id)
    send(CHECK_VIDEOS, [video_id], broker=worker.broker)
    # a check that failed this time is re-sent after 30 s: allow for one such retry on a busy machine
    await eventually(lambda: _more(pool, video_id, before), what="next snapshot stored", timeout=60)


async def _more(pool, video_id: int, before: int) -> bool:
    return await snapshot_count(pool, video_id) > before


async def _replay(worker, pool, fake_youtube, user, curve: Curve) -> videos.Video:
    """Check a new YouTube video of ``user`` once per point of ``curve``, the curve's hours apart."""
    external_id = new_youtube_id()
    fake_youtube.state.add_video(external_id, views=0, likes=0)
    video = await approved_video(pool, user, "youtube", external_id, published_at=datetime.now(timezone.utc))
    previous = None
    for point in curve.points:
        # the first check comes as long after publication as the curve says, the others its interval apart
        since = previous.taken_at if previous is not None else START
        await let_time_pass(pool, video.id, (point.taken_at - since).total_seconds() / 3600)
        with fake_youtube.state.lock:
            fake_youtube.state.videos[external_id].views = point.views
            fake_youtube.state.videos[external_id].likes = point.likes
        await _check_once(worker, pool, video.id)
        previous = point
        async with pool.connection() as conn:
            video = await videos.get(conn, video.id)
        if video.status != "approved":
            break
    return video


async def _books_of(pool, user_id: int) -> list[str]:
    async with pool.connection() as conn:
        problems = await check_ledger(conn)
    return [p for p in problems if f"user:{user_id}:" in p or f"user {user_id}:" in p]


async def test_a_viral_day_replayed_through_the_worker_is_credited_and_never_held(
    running_worker, make_user, fake_youtube, pool
):
    user = await make_user()
    curve = next(c for c in organic_curves() if c.name == "viral day")
    async with running_worker() as worker:
        video = await _replay(worker, pool, fake_youtube, user, curve)
    assert await _signals(pool, user.id) == []
    balances = await _balances(pool, user.id)
    assert balances.held == 0 and balances.available == video.credited > Decimal("10000")
    assert video.views == curve.points[-1].views
    assert await _books_of(pool, user.id) == []


async def test_bought_views_are_held_not_credited(running_worker, make_user, fake_youtube, pool):
    user = await make_user()
    curve = next(c for c in fraudulent_curves() if c.name == "bought spike day 1")
    spike = next(
        i for i, (a, b) in enumerate(zip(curve.points, curve.points[1:], strict=False), 1) if b.views - a.views > 50_000
    )
    short = Curve(curve.name, curve.points[: spike + 3], organic=False)
    async with running_worker() as worker:
        video = await _replay(worker, pool, fake_youtube, user, short)
    signals = await _signals(pool, user.id)
    assert {s["kind"] for s in signals} == {"spike", "low_engagement"}
    spike_signal = next(s for s in signals if s["kind"] == "spike")
    assert spike_signal["evidence"]["views_before"] == short.points[spike - 1].views
    assert spike_signal["evidence"]["views_now"] == short.points[spike].views
    async with pool.connection() as conn:
        holds = await trust_holds.open_for_user(conn, user.id)
    assert len(holds) == 1 and spike_signal["hold_id"] == holds[0].id
    balances = await _balances(pool, user.id)
    assert balances.held == holds[0].amount > Decimal("6000")  # the bought 100,000 views
    assert balances.available + balances.held == video.credited
    assert balances.available < Decimal("1000")  # only the organic views before and after
    assert await _books_of(pool, user.id) == []


# reason: the trust gate's refusal; None: the adapter cannot read it as a count at all
# (negative, fractional, beyond bigint, "1e+20": platforms/counts.py), so it never gets that far
ABSURD = [
    ("youtube", "1000000000000000000", "above_ceiling"),
    ("youtube", 25_000_000_000, "above_ceiling"),
    ("youtube", 10**20, None),
    ("youtube", -5, None),
    ("youtube", 1e20, None),
    ("tiktok", 1e20, None),
    ("tiktok", "1000000000000000000", "above_ceiling"),
    ("tiktok", -5, None),
    ("tiktok", 2.5, None),
]


@pytest.mark.parametrize(("platform", "views", "reason"), ABSURD, ids=[f"{p}-{v!r}" for p, v, _ in ABSURD])
async def test_absurd_view_counts_never_reach_an_available_balance(
    running_worker, make_user, fake_youtube, fake_tiktok, pool, platform, views, reason
):
    user = await make_user(tier="gold")
    fake = fake_youtube if platform == "youtube" else fake_tiktok
    external_id = new_youtube_id() if platform == "youtube" else new_tiktok_id()
    fake.state.add_video(external_id, views=10_000, likes=300)
    video = await approved_video(
        pool, user, platform, external_id, published_at=datetime.now(timezone.utc) - timedelta(days=2)
    )
    async with running_worker() as worker:
        await _check_once(worker, pool, video.id)
        assert (await _balances(pool, user.id)).available == Decimal("650.00")  # 10,000 views at 65 per 1,000
        await let_time_pass(pool, video.id, 3)
        with fake.state.lock:
            fake.state.videos[external_id].views = views
        calls = len(fake.state.calls)
        send(CHECK_VIDEOS, [video.id], broker=worker.broker)
        await eventually(lambda: len(fake.state.calls) > calls, what="platform asked")
        if reason is not None:
            refused = await eventually(lambda: _signals(pool, user.id), what="refusal recorded")
            assert [s["kind"] for s in refused] == ["implausible"] and refused[0]["evidence"]["reason"] == reason
        for _ in range(10):  # whatever the worker does with it meanwhile, no money moves
            balances = await _balances(pool, user.id)
            assert (balances.available, balances.held) == (Decimal("650.00"), Decimal("0.00"))
            await asyncio.sleep(0.2)
    async with pool.connection() as conn:
        stored = await videos.get(conn, video.id)
    assert stored.views == 10_000 and stored.credited == Decimal("650.00")
    assert await snapshot_count(pool, video.id) == 1
    assert await _books_of(pool, user.id) == []


async def test_a_bot_drip_is_held_from_its_first_hours(running_worker, make_user, fake_youtube, pool):
    user = await make_user()
    curve = next(c for c in fraudulent_curves() if c.name == "bot drip")
    short = Curve(curve.name, curve.points[:12], organic=False)  # its first 11 hours, checked hourly
    async with running_worker() as worker:
        video = await _replay(worker, pool, fake_youtube, user, short)
    async with pool.connection() as conn:
        holds = await trust_holds.open_for_user(conn, user.id)
    signals = await _signals(pool, user.id)
    assert len(holds) >= 5 and {s["kind"] for s in signals} == {"low_engagement"}
    balances = await _balances(pool, user.id)
    assert balances.available <= Decimal("1300.00")  # at most the first 20,000 views were paid
    assert balances.available + balances.held == video.credited
    assert await _books_of(pool, user.id) == []
