"""A worker killed in the middle of a batch's transaction (after its ledger transfers, before
the commit) ends, after the clock re-sends the batch to a new worker and the broker redelivers
the killed one's message, with every video of the batch credited exactly once."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta, timezone
from decimal import Decimal

from tests.actors.conftest import eventually, new_channel_id, new_youtube_id
from zenith.actors.clock import tick
from zenith.actors.runtime import Runtime
from zenith.messaging.broker import build_broker
from zenith.storage import videos
from zenith.storage.db import fetch_all, unit_of_work
from zenith.storage.ledger_check import check_ledger

VIDEOS = 12


async def _due_videos(pool, fake_youtube, make_user, make_verified_account) -> list[videos.Video]:
    user = await make_user(tier="gold", language="en")
    channel = new_channel_id()
    account = await make_verified_account(user, "youtube", channel)
    made = []
    due = datetime.now(timezone.utc) - timedelta(minutes=1)
    for _ in range(VIDEOS):
        external = new_youtube_id()
        fake_youtube.state.add_video(external, views=20_000, channel_id=channel)
        async with unit_of_work(pool) as conn:
            video, _ = await videos.insert(
                conn,
                platform="youtube",
                external_id=external,
                user_id=user.id,
                url=f"https://www.youtube.com/watch?v={external}",
                request_id=uuid.uuid4().hex,
                account_id=account.id,
                status="approved",
                next_check_at=due,
            )
        made.append(video)
    return made


async def _earnings(pool, ids: list[int]) -> list[tuple[int, Decimal]]:
    async with pool.connection() as conn:
        rows = await fetch_all(
            conn,
            "SELECT video_id, amount FROM ledger_transfers WHERE video_id = ANY(%s) AND kind = 'earning' ORDER BY video_id",
            (ids,),
        )
    return [(row["video_id"], row["amount"]) for row in rows]


async def test_a_worker_killed_inside_a_batch_transaction_ends_with_every_video_credited_once(
    spawn, actor_env, make_settings, fake_youtube, make_user, make_verified_account, pool, redis_url, tmp_path
):
    batch = await _due_videos(pool, fake_youtube, make_user, make_verified_account)
    ids = [video.id for video in batch]
    settings = make_settings(**actor_env)
    broker = build_broker(settings, redis_url=redis_url, namespace=settings.redis_namespace)
    runtime = Runtime(settings, broker=broker, database_url=settings.database_url, redis_url=redis_url)
    marker = tmp_path / "died"
    worker_args = ["--queues", "parsing", "--threads", "2"]
    try:
        dying = spawn(["-m", "tests.actors.batch_dying_worker", str(marker), *worker_args], env=actor_env)
        now = datetime.now(timezone.utc)
        await tick(now, runtime=runtime)
        assert dying.wait(timeout=60) == -9 and marker.exists()  # killed after its transfers, before the commit
        assert await _earnings(pool, ids) == []  # nothing of the batch committed
        spawn(["-m", "zenith", "worker", *worker_args], env=actor_env)
        # the clock re-sends the lost claims; the broker also redelivers the killed worker's message
        later = now + timedelta(seconds=float(settings.check_resend_seconds) + 1)
        await tick(later, runtime=runtime)
        await eventually(lambda: _all_credited(pool, ids), timeout=60, what="every video credited")
        await tick(later + timedelta(seconds=1), runtime=runtime)  # a duplicate re-send on top
        assert await _earnings(pool, ids) == [(video_id, Decimal("1300.00")) for video_id in sorted(ids)]
    finally:
        await runtime.close()
        broker.close()
    async with pool.connection() as conn:
        assert await check_ledger(conn) == []


async def _all_credited(pool, ids: list[int]) -> bool:
    return len(await _earnings(pool, ids)) >= len(ids)
