"""Holds over time and gates on risk: the clock's quiet-period release (two clocks, once),
a replayed check that holds nothing twice, and Gold's automatic approval withdrawn from
a creator with an open signal."""

from __future__ import annotations

import asyncio
import uuid
from datetime import datetime, timedelta, timezone
from decimal import Decimal

from tests.actors.conftest import eventually, new_channel_id, new_youtube_id
from tests.view_history import approved_video
from zenith.actors.clock import tick
from zenith.actors.runtime import Runtime
from zenith.domain.trust import Signal, SignalKind
from zenith.messaging.broker import build_broker
from zenith.messaging.contract import SUBMIT_VIDEO, send
from zenith.storage import audit, checks, ledger, snapshots, trust_holds, trust_signals, videos
from zenith.storage.db import fetch_all, unit_of_work
from zenith.storage.ledger_check import check_ledger


async def _held(pool, user, *, amount: str, days_ago: float) -> trust_holds.Hold:
    """A hold of `amount` on a new video of `user`, made `days_ago` days ago, with its spike signal."""
    video = await approved_video(pool, user, "youtube", new_youtube_id(), published_at=datetime.now(timezone.utc))
    async with unit_of_work(pool) as conn:
        snapshot, _ = await snapshots.insert(conn, video_id=video.id, views=90_000, taken_at=datetime.now(timezone.utc))
        hold = await trust_holds.hold_earning(
            conn,
            user_id=user.id,
            video_id=video.id,
            snapshot_id=snapshot.id,
            amount=Decimal(amount),
            views_before=1_000,
            views_now=90_000,
        )
        await trust_signals.record(
            conn,
            Signal(SignalKind.SPIKE, {"gained": 89_000}),
            user_id=user.id,
            video_id=video.id,
            snapshot_id=snapshot.id,
            hold_id=hold.id,
            dedup_key=f"test:{uuid.uuid4().hex}",
        )
        await conn.execute(
            "UPDATE trust_holds SET created_at = now() - %s WHERE id = %s", (timedelta(days=days_ago), hold.id)
        )
        await conn.execute(
            "UPDATE trust_signals SET created_at = now() - %s WHERE hold_id = %s", (timedelta(days=days_ago), hold.id)
        )
    return hold


async def _user_problems(pool, *users) -> list[str]:
    async with pool.connection() as conn:
        problems = await check_ledger(conn)
    return [p for p in problems for u in users if f"user:{u.id}:" in p or f"user {u.id}:" in p]


async def test_two_clocks_release_a_quiet_hold_once_and_keep_one_whose_creator_drew_a_new_signal(
    make_settings, actor_env, make_user, pool, redis_url
):
    settings = make_settings(**actor_env)
    broker = build_broker(settings, redis_url=redis_url, namespace=settings.redis_namespace)
    runtime = Runtime(settings, broker=broker, database_url=settings.database_url, redis_url=redis_url)
    quiet_user, noisy_user, fresh_user = await make_user(), await make_user(), await make_user()
    quiet = await _held(pool, quiet_user, amount="1200.50", days_ago=15)
    noisy = await _held(pool, noisy_user, amount="800", days_ago=15)
    fresh = await _held(pool, fresh_user, amount="300", days_ago=2)
    async with unit_of_work(pool) as conn:  # a new signal for the noisy creator, after their hold
        await trust_signals.record(
            conn,
            Signal(SignalKind.DUPLICATE_VIDEO, {"video_id": 1}),
            user_id=noisy_user.id,
            dedup_key=f"test:{uuid.uuid4().hex}",
        )
    try:
        now = datetime.now(timezone.utc)
        results = await asyncio.gather(tick(now, runtime=runtime), tick(now, runtime=runtime))
    finally:
        await runtime.close()
        broker.close()
    assert sum(result["holds"] for result in results) >= 1
    async with pool.connection() as conn:
        statuses = [(await trust_holds.get(conn, hold.id)).status for hold in (quiet, noisy, fresh)]
        released = await fetch_all(
            conn, "SELECT amount FROM ledger_transfers WHERE idempotency_key = %s", (f"hold:{quiet.id}:release",)
        )
        quiet_balances = await ledger.balances(conn, quiet_user.id)
        trail = await audit.list_for_target(conn, target_type="hold", target_id=quiet.id)
        notices = await fetch_all(conn, "SELECT key FROM outbox WHERE dedup_key = %s", (f"hold:{quiet.id}:released",))
    assert statuses == ["released", "held", "held"]
    assert [row["amount"] for row in released] == [Decimal("1200.50")]
    assert (quiet_balances.available, quiet_balances.held) == (Decimal("1200.50"), Decimal("0.00"))
    assert [(e.action, e.admin_id) for e in trail] == [("hold.release", audit.SYSTEM_ADMIN_ID)]
    assert [row["key"] for row in notices] == ["notify.hold.released"]
    assert await _user_problems(pool, quiet_user, noisy_user, fresh_user) == []


async def test_a_replayed_check_holds_nothing_twice(make_user, pool):
    user = await make_user()
    video = await approved_video(pool, user, "youtube", new_youtube_id(), published_at=datetime.now(timezone.utc))
    taken_at = datetime.now(timezone.utc)

    async def spike(conn, video):
        return (Signal(SignalKind.SPIKE, {"gained": 150_000}),)

    results = []
    for _ in range(2):  # the same message delivered twice
        async with unit_of_work(pool) as conn:
            results.append(
                await checks.record_check(
                    conn,
                    video_id=video.id,
                    views=150_000,
                    likes=0,
                    comments=0,
                    taken_at=taken_at,
                    earned_total=Decimal("9750.00"),
                    next_check_at=None,
                    judge=spike,
                )
            )
    assert [(r.held_now, r.credited_now, r.replay) for r in results] == [(Decimal("9750.00"), 0, False), (0, 0, True)]
    async with pool.connection() as conn:
        balances = await ledger.balances(conn, user.id)
        signals = await fetch_all(conn, "SELECT kind FROM trust_signals WHERE video_id = %s", (video.id,))
        stored = await videos.get(conn, video.id)
    assert (balances.available, balances.held) == (0, Decimal("9750.00"))
    assert [row["kind"] for row in signals] == ["spike"] and stored.credited == Decimal("9750.00")
    assert await _user_problems(pool, user) == []


async def test_a_gold_creator_with_an_open_signal_goes_through_moderation(
    running_worker, fake_youtube, make_user, make_verified_account, pool
):
    trusted, flagged = await make_user(tier="gold"), await make_user(tier="gold")
    async with unit_of_work(pool) as conn:
        await trust_signals.record(
            conn,
            Signal(SignalKind.SHARED_CHANNEL, {"handle": "someone"}),
            user_id=flagged.id,
            dedup_key=f"test:{uuid.uuid4().hex}",
        )
    submitted = {}
    async with running_worker() as worker:
        for user in (trusted, flagged):
            channel = new_channel_id()
            await make_verified_account(user, "youtube", channel)
            external_id = new_youtube_id()
            fake_youtube.state.add_video(external_id, views=2_000, channel_id=channel)
            send(SUBMIT_VIDEO, user.id, f"https://youtu.be/{external_id}", uuid.uuid4().hex, broker=worker.broker)
            submitted[user.id] = external_id

        async def stored(user):
            async with pool.connection() as conn:
                return await videos.find(conn, platform="youtube", external_id=submitted[user.id])

        trusted_video = await eventually(lambda: stored(trusted), what="trusted creator's video")
        flagged_video = await eventually(lambda: stored(flagged), what="flagged creator's video")
    assert trusted_video.status == "approved"
    assert flagged_video.status == "pending_moderation"
    async with unit_of_work(pool) as conn:  # leave the shared moderation queue as it was
        await videos.set_status(
            conn,
            video_id=flagged_video.id,
            status="rejected",
            reason="test",
            from_statuses=("pending_moderation",),
            moderated_by=1,
        )
