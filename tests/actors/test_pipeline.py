"""One video from submission to credited balance, through real workers, the real
database and broker, the fake YouTube and the Telegram sandbox."""

from __future__ import annotations

import asyncio
import uuid
from decimal import Decimal

from tests.actors.conftest import eventually, new_channel_id, new_youtube_id
from zenith.messaging.contract import CHECK_VIDEOS, SUBMIT_VIDEO, send
from zenith.storage import ledger, videos
from zenith.storage.db import fetch_all


async def _video_by_request(pool, request_id: str):
    async with pool.connection() as conn:
        rows = await fetch_all(conn, "SELECT id FROM videos WHERE request_id = %s", (request_id,))
        return await videos.get(conn, rows[0]["id"]) if rows else None


async def _ledger_rows(pool, user_id: int):
    async with pool.connection() as conn:
        transfers = await fetch_all(
            conn,
            "SELECT from_account, to_account, amount, kind, idempotency_key FROM ledger_transfers WHERE to_account = %s OR from_account = %s ORDER BY id",
            (ledger.available_account(user_id), ledger.available_account(user_id)),
        )
        balances = await ledger.balances(conn, user_id)
    return transfers, balances


async def test_a_gold_creators_video_is_approved_checked_and_credited(
    running_worker, sandbox, fake_youtube, make_user, make_verified_account, pool
):
    state, _ = sandbox
    user = await make_user(tier="gold", language="en")
    state.add_user(user.telegram_id)
    channel = new_channel_id()
    await make_verified_account(user, "youtube", channel)
    video_id = new_youtube_id()
    fake_youtube.state.add_video(video_id, views=15_000, channel_id=channel, title="My video")
    request_id = uuid.uuid4().hex

    async with running_worker() as worker:
        send(SUBMIT_VIDEO, user.id, f"https://youtu.be/{video_id}", request_id, broker=worker.broker)

        async def credited():
            video = await _video_by_request(pool, request_id)
            return video if video and video.credited > 0 else None

        video = await eventually(credited, what="video credited")
        await eventually(lambda: len(state.messages_for(user.telegram_id)) >= 2, what="two notifications")

    assert video.status == "approved"
    assert video.views == 15_000
    assert video.credited == Decimal("975.00")  # 15,000 views at 65 RUB per 1,000
    assert video.next_check_at is not None and video.check_enqueued_at is None
    _, balances = await _ledger_rows(pool, user.id)
    assert balances.available == Decimal("975.00")
    texts = [m.text for m in state.messages_for(user.telegram_id)]
    assert any(t.startswith("✅ Video approved") for t in texts)
    assert any(t.startswith("💰 +975.00 RUB") for t in texts)


async def test_every_message_delivered_twice_changes_nothing(
    running_worker, sandbox, fake_youtube, make_user, make_verified_account, pool
):
    state, _ = sandbox
    user = await make_user(tier="gold")
    state.add_user(user.telegram_id)
    channel = new_channel_id()
    await make_verified_account(user, "youtube", channel)
    video_id = new_youtube_id()
    fake_youtube.state.add_video(video_id, views=20_000, channel_id=channel)
    request_id = uuid.uuid4().hex

    async with running_worker() as worker:
        for _ in range(2):
            send(SUBMIT_VIDEO, user.id, f"https://www.youtube.com/watch?v={video_id}", request_id, broker=worker.broker)
        video = await eventually(lambda: _video_by_request(pool, request_id), what="video stored")
        await eventually(lambda: _ledger_rows(pool, user.id), what="ledger")
        await eventually(lambda: len(state.messages_for(user.telegram_id)) >= 2, what="notifications")
        await asyncio.sleep(1.0)  # let the duplicates run to completion
        first_transfers, first_balances = await _ledger_rows(pool, user.id)
        # every check message again, twice, at the same views: nothing more is credited
        for _ in range(2):
            send(CHECK_VIDEOS, [video.id], broker=worker.broker)
        await asyncio.sleep(1.5)
        transfers, balances = await _ledger_rows(pool, user.id)
        messages = [m.text for m in state.messages_for(user.telegram_id)]

    assert balances.available == Decimal("1300.00") == first_balances.available
    assert transfers == first_transfers and len(transfers) == 1
    async with pool.connection() as conn:
        rows = await fetch_all(
            conn, "SELECT count(*) AS n FROM videos WHERE platform = 'youtube' AND external_id = %s", (video_id,)
        )
    assert rows[0]["n"] == 1
    assert len(messages) == 2  # approved + credited, each once
