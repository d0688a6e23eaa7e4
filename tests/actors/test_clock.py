"""The clock's tick: due re-checks in batches, never twice; lost work re-sent; then many
videos checked concurrently by a real worker against the fake YouTube."""

from __future__ import annotations

import asyncio
import time
import uuid
from datetime import datetime, timedelta, timezone
from decimal import Decimal

import dramatiq

from tests.actors.conftest import eventually, new_channel_id, new_youtube_id
from zenith.actors.clock import BATCH_SIZE, tick
from zenith.actors.runtime import Runtime
from zenith.messaging.broker import build_broker
from zenith.storage import videos
from zenith.storage.db import fetch_all, unit_of_work


async def _approved_videos(pool, user, account, n: int, *, due_at: datetime) -> list[int]:
    ids = []
    async with unit_of_work(pool) as conn:
        for _ in range(n):
            external = new_youtube_id()
            video, _ = await videos.insert(
                conn,
                platform="youtube",
                external_id=external,
                user_id=user.id,
                url=f"https://www.youtube.com/watch?v={external}",
                request_id=uuid.uuid4().hex,
                account_id=account.id,
                status="approved",
                next_check_at=due_at,
            )
            ids.append(video.id)
    return ids


def _queued_check_batches(broker, queue: str = "parsing") -> list[list[int]]:
    """The id lists of check_videos messages waiting in the queue (Redis broker)."""
    client = broker.client
    batches = []
    for message_id in client.lrange(f"{broker.namespace}:{queue}", 0, -1):
        raw = client.hget(f"{broker.namespace}:{queue}.msgs", message_id)
        message = dramatiq.Message.decode(raw)
        if message.actor_name == "check_videos":
            batches.append(list(message.args[0]))
    return batches


async def test_two_clocks_ticking_at_once_enqueue_each_due_video_once_in_batches(
    make_settings, actor_env, make_user, make_verified_account, pool, redis_url
):
    settings = make_settings(**actor_env)
    broker = build_broker(settings, redis_url=redis_url, namespace=settings.redis_namespace)
    runtime = Runtime(settings, broker=broker, database_url=settings.database_url, redis_url=redis_url)
    user = await make_user(tier="gold")
    account = await make_verified_account(user, "youtube", new_channel_id())
    now = datetime.now(timezone.utc)
    mine = set(await _approved_videos(pool, user, account, 120, due_at=now - timedelta(minutes=1)))
    try:
        await asyncio.gather(tick(now, runtime=runtime), tick(now, runtime=runtime))
        batches = _queued_check_batches(broker)
        sent = [vid for batch in batches for vid in batch if vid in mine]
        assert sorted(sent) == sorted(mine)  # every due video once, none twice
        assert all(len(batch) <= BATCH_SIZE["youtube"] for batch in batches)

        # claimed videos are not due again while their check is pending...
        await tick(now + timedelta(seconds=5), runtime=runtime)
        again = [vid for batch in _queued_check_batches(broker)[len(batches) :] for vid in batch if vid in mine]
        assert again == []
        # ...nor while they wait in the queue, however overdue: a backlog is not a loss...
        stale = now + timedelta(seconds=float(settings.check_resend_seconds) + 1)
        await tick(stale, runtime=runtime)
        assert len(_queued_check_batches(broker)) == len(batches)
        # ...but once the broker lost them, CHECK_RESEND_SECONDS overdue: re-sent once
        broker.flush("parsing")
        await asyncio.gather(*(tick(stale, runtime=runtime) for _ in range(2)))
        resent = [vid for batch in _queued_check_batches(broker) for vid in batch if vid in mine]
        assert sorted(resent) == sorted(mine)
    finally:
        await runtime.close()
        broker.close()


async def test_300_videos_are_checked_concurrently_in_batched_calls(
    make_settings, actor_env, running_worker, fake_youtube, make_user, make_verified_account, pool, redis_url
):
    user = await make_user(tier="gold")
    channel = new_channel_id()
    account = await make_verified_account(user, "youtube", channel)
    now = datetime.now(timezone.utc)
    mine = await _approved_videos(pool, user, account, 300, due_at=now - timedelta(minutes=1))
    async with pool.connection() as conn:
        rows = await fetch_all(conn, "SELECT external_id FROM videos WHERE id = ANY(%s)", (mine,))
    externals = {row["external_id"] for row in rows}
    for external in externals:
        fake_youtube.state.add_video(external, views=2_000, channel_id=channel)

    settings = make_settings(**actor_env)
    async with running_worker(threads=2) as worker:
        runtime = Runtime(settings, broker=worker.broker, database_url=settings.database_url, redis_url=redis_url)
        started = time.monotonic()
        await tick(now, runtime=runtime)

        async def all_checked():
            async with pool.connection() as conn:
                rows = await fetch_all(
                    conn, "SELECT count(*) AS n FROM videos WHERE id = ANY(%s) AND last_checked_at IS NOT NULL", (mine,)
                )
            return rows[0]["n"] == len(mine)

        await eventually(all_checked, timeout=60, interval=0.2, what="300 videos checked")
        elapsed = time.monotonic() - started
        await runtime.close()

    calls = [ids for ids in fake_youtube.state.ids_per_call("videos") if set(ids) & externals]
    print(f"\n300 videos checked in {elapsed:.2f}s ({300 / elapsed:.0f} videos/s) with {len(calls)} videos.list calls")
    assert all(len(ids) <= 50 for ids in calls)
    assert len(calls) <= 8  # 300 ids need 6 calls of 50; a clock batch may straddle
    async with pool.connection() as conn:
        rows = await fetch_all(conn, "SELECT sum(credited) AS total FROM videos WHERE id = ANY(%s)", (mine,))
    assert rows[0]["total"] == Decimal("130.00") * 300  # 2,000 views at 65 per 1,000
