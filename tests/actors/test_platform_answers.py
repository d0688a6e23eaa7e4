"""A platform's answer is reused for PLATFORM_ANSWER_CACHE_SECONDS: a new video costs one
platform call (submission and first check share it), and an expired answer is asked again."""

from __future__ import annotations

import uuid
from decimal import Decimal

from redis.asyncio import Redis

from tests.actors.conftest import eventually, new_channel_id, new_youtube_id
from zenith.messaging.contract import CHECK_VIDEOS, SUBMIT_VIDEO, send
from zenith.storage import videos
from zenith.storage.platform_answers import answer_key


def _calls_for(fake_youtube, external_id: str) -> int:
    return len([ids for ids in fake_youtube.state.ids_per_call("videos") if external_id in ids])


async def _credited(pool, external_id: str, amount: str):
    async with pool.connection() as conn:
        video = await videos.find(conn, platform="youtube", external_id=external_id)
    return video if video is not None and video.credited == Decimal(amount) else None


async def test_submission_and_first_check_share_one_platform_call_and_an_expired_answer_is_asked_again(
    running_worker, sandbox, fake_youtube, make_user, make_verified_account, pool, redis_url, cleanup_namespace
):
    state, _ = sandbox
    user = await make_user(tier="gold")
    state.add_user(user.telegram_id)
    channel = new_channel_id()
    await make_verified_account(user, "youtube", channel)
    external_id = new_youtube_id()
    fake_youtube.state.add_video(external_id, views=20_000, channel_id=channel)

    async with running_worker(PLATFORM_ANSWER_CACHE_SECONDS="60") as worker:
        send(SUBMIT_VIDEO, user.id, f"https://youtu.be/{external_id}", uuid.uuid4().hex, broker=worker.broker)
        video = await eventually(lambda: _credited(pool, external_id, "1300.00"), timeout=30, what="the video credited")
        assert _calls_for(fake_youtube, external_id) == 1  # the first check read the submission's answer

        redis = Redis.from_url(redis_url)
        key = answer_key(cleanup_namespace, platform="youtube", video_id=external_id)
        try:
            assert 0 < await redis.ttl(key) <= 60
            await redis.delete(key)  # the answer expired
        finally:
            await redis.aclose()
        fake_youtube.state.set_views(external_id, 40_000)
        send(CHECK_VIDEOS, [video.id], broker=worker.broker)
        await eventually(lambda: _credited(pool, external_id, "2600.00"), timeout=30, what="the re-check credited")
    assert _calls_for(fake_youtube, external_id) == 2


async def test_with_the_answer_cache_off_every_check_asks_the_platform(
    running_worker, sandbox, fake_youtube, make_user, make_verified_account, pool
):
    state, _ = sandbox
    user = await make_user(tier="gold")
    state.add_user(user.telegram_id)
    channel = new_channel_id()
    await make_verified_account(user, "youtube", channel)
    external_id = new_youtube_id()
    fake_youtube.state.add_video(external_id, views=20_000, channel_id=channel)

    async with running_worker(PLATFORM_ANSWER_CACHE_SECONDS="0") as worker:
        send(SUBMIT_VIDEO, user.id, f"https://youtu.be/{external_id}", uuid.uuid4().hex, broker=worker.broker)
        await eventually(lambda: _credited(pool, external_id, "1300.00"), timeout=30, what="the video credited")
    assert _calls_for(fake_youtube, external_id) == 2
