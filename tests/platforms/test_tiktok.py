"""TikTok adapter against the local page fake: both data layouts, block pages, statuses."""

from __future__ import annotations

import asyncio
from datetime import datetime, timezone

import pytest

from tests.fast_retries import FAST_POLICY
from zenith.platforms.errors import NOT_FOUND, PRIVATE, BadResponseError, BlockedError, PermanentError, TransientError
from zenith.platforms.retrying import RetryPolicy
from zenith.platforms.tiktok import TikTokAdapter
from zenith.platforms.tiktok_page import parse_video_page


@pytest.fixture
async def adapter(tiktok):
    adapter = TikTokAdapter(base_url=tiktok.url, retry=FAST_POLICY, concurrency=3)
    yield adapter
    await adapter.close()


async def test_rehydration_layout(tiktok, adapter):
    tiktok.state.add_video(
        "7300000000000000001",
        views=45_678,
        likes=1200,
        comments=33,
        author="dancer",
        author_id="6900000000000000001",
        create_time=1_700_000_000,
        duration=27,
        desc="my dance #fyp",
    )
    result = await adapter.fetch_many(["7300000000000000001"])
    stats = result["7300000000000000001"]
    assert (stats.views, stats.likes, stats.comments) == (45_678, 1200, 33)
    assert stats.author == "dancer" and stats.author_id == "6900000000000000001"
    assert stats.published_at == datetime.fromtimestamp(1_700_000_000, timezone.utc)
    assert stats.duration_seconds == 27 and stats.title == "my dance #fyp"
    method, path = tiktok.state.calls[0]
    assert path == "/@_/video/7300000000000000001"


async def test_sigi_state_layout(tiktok, adapter):
    tiktok.state.add_video(
        "7300000000000000002", views=999, likes=5, comments=1, author="old", author_id="42", layout="sigi"
    )
    stats = (await adapter.fetch_many(["7300000000000000002"]))["7300000000000000002"]
    assert (stats.views, stats.likes, stats.author, stats.author_id) == (999, 5, "old", "42")


async def test_private_and_missing_are_permanent(tiktok, adapter):
    tiktok.state.add_video("7300000000000000003", status_code=10216)
    tiktok.state.add_video("7300000000000000004", views=10)
    result = await adapter.fetch_many(["7300000000000000003", "7300000000000000004", "7399999999999999999"])
    assert isinstance(result["7300000000000000003"], PermanentError) and result["7300000000000000003"].reason == PRIVATE
    assert (
        isinstance(result["7399999999999999999"], PermanentError) and result["7399999999999999999"].reason == NOT_FOUND
    )
    assert result["7300000000000000004"].views == 10
    # permanent outcomes are not retried
    assert len(tiktok.state.calls) == 3


@pytest.mark.parametrize("block", ["captcha", "challenge", "forbidden"])
async def test_block_page_raises_blocked_never_zero(tiktok, adapter, block):
    for n in range(6):
        tiktok.state.add_video(f"73000000000000001{n}", views=100)
    tiktok.state.block = block
    with pytest.raises(BlockedError):
        await adapter.fetch_many([f"73000000000000001{n}" for n in range(6)])
    # Once blocked, the rest of the batch is not fetched (3 in flight at most).
    assert len(tiktok.state.calls) <= 3


async def test_rate_limit_is_transient_with_retry_after(tiktok):
    tiktok.state.add_video("7300000000000000005", views=1)
    tiktok.state.retry_after = 30
    adapter = TikTokAdapter(base_url=tiktok.url, retry=RetryPolicy("tiktok", attempts=1))
    result = await adapter.fetch_many(["7300000000000000005"])
    await adapter.close()
    error = result["7300000000000000005"]
    assert isinstance(error, TransientError) and error.retry_after == 30


async def test_broken_json_is_bad_response(tiktok, adapter):
    tiktok.state.add_video("7300000000000000006", views=1)
    tiktok.state.garbage = True
    result = await adapter.fetch_many(["7300000000000000006"])
    assert isinstance(result["7300000000000000006"], BadResponseError)
    assert len(tiktok.state.calls) == FAST_POLICY.bad_response_attempts


async def test_views_change_between_fetches(tiktok, adapter):
    tiktok.state.add_video("7300000000000000007", views=100)
    first = (await adapter.fetch_many(["7300000000000000007"]))["7300000000000000007"]
    tiktok.state.set_views("7300000000000000007", 2500)
    second = (await adapter.fetch_many(["7300000000000000007"]))["7300000000000000007"]
    assert (first.views, second.views) == (100, 2500)


async def test_concurrency_is_bounded(tiktok):
    ids = [f"74000000000000000{n:02d}" for n in range(12)]
    for video_id in ids:
        tiktok.state.add_video(video_id, views=1)
    adapter = TikTokAdapter(base_url=tiktok.url, retry=FAST_POLICY, concurrency=2)
    in_flight = peak = 0
    original = adapter._get_page

    async def counting(url):
        nonlocal in_flight, peak
        in_flight += 1
        peak = max(peak, in_flight)
        await asyncio.sleep(0.01)
        try:
            return await original(url)
        finally:
            in_flight -= 1

    adapter._get_page = counting
    result = await adapter.fetch_many(ids)
    await adapter.close()
    assert len(result) == 12 and peak == 2


async def test_profile_bio(tiktok, adapter):
    tiktok.state.add_user(
        "dancer", user_id="6900000000000000001", bio="dance every day\nzenith-AB12", nickname="Dancer"
    )
    account = await adapter.fetch_account("@dancer")
    assert account.external_id == "6900000000000000001" and account.handle == "dancer"
    assert "zenith-AB12" in account.description and account.title == "Dancer"
    with pytest.raises(PermanentError) as caught:
        await adapter.fetch_account("ghost")
    assert caught.value.reason == NOT_FOUND


async def test_profile_block_page(tiktok, adapter):
    tiktok.state.add_user("dancer", bio="x")
    tiktok.state.block = "captcha"
    with pytest.raises(BlockedError):
        await adapter.fetch_account("dancer")


def test_plain_page_without_data_is_blocked_not_zero():
    with pytest.raises(BlockedError, match="unknown block page"):
        parse_video_page("<html><body>Something went wrong</body></html>", "1")


async def test_profile_follower_count(tiktok, adapter):
    tiktok.state.add_user("popular", bio="x", followers=25_400)
    account = await adapter.fetch_account("@popular")
    assert account.followers == 25_400 and account.created_at is None  # TikTok's page tells no creation date
