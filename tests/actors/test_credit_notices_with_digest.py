"""With the daily digest on, a video's first credit is announced at once and later ones
wait for the digest; a creator who turned the digest off hears of them as they come
(at most once per video per window), through real workers and the fake YouTube."""

from __future__ import annotations

import asyncio
import uuid
from decimal import Decimal

from tests.actors.conftest import eventually, new_channel_id, new_youtube_id
from tests.view_history import let_time_pass
from zenith.messaging.contract import CHECK_VIDEOS, SUBMIT_VIDEO, send
from zenith.storage import digests, ledger, videos
from zenith.storage.db import fetch_one, unit_of_work


async def _credited(pool, user_id: int) -> Decimal:
    async with pool.connection() as conn:
        return (await ledger.balances(conn, user_id)).available


async def test_later_credits_go_to_the_digest_unless_the_creator_turned_it_off(
    running_worker, sandbox, fake_youtube, make_user, make_verified_account, pool
):
    state, _ = sandbox
    creators = {}
    for name in ("digest", "opted_out"):
        user = await make_user(tier="gold", language="en")
        state.add_user(user.telegram_id)
        channel = new_channel_id()
        await make_verified_account(user, "youtube", channel)
        external = new_youtube_id()
        fake_youtube.state.add_video(external, views=15_000, channel_id=channel)
        creators[name] = (user, external)
    async with pool.connection() as conn:
        await digests.set_enabled(conn, user_id=creators["opted_out"][0].id, enabled=False)

    async with running_worker(EARNINGS_DIGEST="true") as worker:
        for user, external in creators.values():
            send(SUBMIT_VIDEO, user.id, f"https://youtu.be/{external}", uuid.uuid4().hex, broker=worker.broker)
        for user, _ in creators.values():  # the first credit is announced at once either way
            await eventually(
                lambda user=user: any(
                    m.text.startswith("💰 +975.00 RUB") for m in state.messages_for(user.telegram_id)
                ),
                what="first credit notice",
            )
        ids = []
        async with unit_of_work(pool) as conn:
            for _, external in creators.values():
                video = await videos.find(conn, platform="youtube", external_id=external)
                ids.append(video.id)
                # the last notice was 7 hours ago: outside the 6-hour window
                await fetch_one(
                    conn,
                    "UPDATE credit_notices SET notified_at = notified_at - interval '7 hours' WHERE video_id = %s RETURNING video_id",
                    (video.id,),
                )
                fake_youtube.state.set_views(external, 20_000)
        for (
            video_id
        ) in ids:  # and so was the first check: 5,000 views in 7 hours is ordinary growth, not a spike to hold
            await let_time_pass(pool, video_id, 7)
        send(CHECK_VIDEOS, ids, broker=worker.broker)
        for user, _ in creators.values():
            await eventually(lambda user=user: _is(pool, user.id, Decimal("1300.00")), what="second credit")
        await eventually(
            lambda: any(
                m.text.startswith("💰 +325.00 RUB") for m in state.messages_for(creators["opted_out"][0].telegram_id)
            ),
            what="opted-out creator told",
        )
        await asyncio.sleep(1.0)  # a notice to the digest creator would have arrived by now

    texts = [m.text for m in state.messages_for(creators["digest"][0].telegram_id)]
    assert sum(t.startswith("💰 +") for t in texts) == 1, texts  # +325.00 waits for the daily digest


async def _is(pool, user_id: int, amount: Decimal) -> bool:
    return await _credited(pool, user_id) == amount
