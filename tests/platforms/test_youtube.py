"""YouTube adapter against the local Data API fake."""

from __future__ import annotations

from datetime import datetime, timezone

import pytest

from tests.fast_retries import FAST_POLICY
from zenith.platforms.errors import (
    NOT_FOUND,
    BadResponseError,
    PermanentError,
    QuotaExceededError,
    TransientError,
    next_pacific_midnight,
)
from zenith.platforms.retrying import RetryPolicy
from zenith.platforms.youtube import YouTubeAdapter, YouTubeConfigError, parse_duration

NO_RETRY = RetryPolicy("youtube", attempts=1, bad_response_attempts=1)


@pytest.fixture
async def make_adapter(youtube):
    adapters = []

    def factory(**options):
        options.setdefault("api_key", youtube.state.api_key)
        options.setdefault("retry", FAST_POLICY)
        adapter = YouTubeAdapter(base_url=youtube.url + "/youtube/v3", **options)
        adapters.append(adapter)
        return adapter

    yield factory
    for adapter in adapters:
        await adapter.close()


async def test_counts_are_parsed_from_strings(youtube, make_adapter):
    youtube.state.add_video(
        "dQw4w9WgXcQ",
        views=1_234_567,
        likes=8910,
        comments=11,
        title="Song",
        channel_id="UCuAXFkgsw1L7xaCfnd5JJOw",
        channel_title="Rick",
        published_at="2009-10-25T06:57:33Z",
        duration="PT3M33S",
    )
    adapter = make_adapter()
    result = await adapter.fetch_many(["dQw4w9WgXcQ"])
    await adapter.close()
    stats = result["dQw4w9WgXcQ"]
    assert stats.views == 1_234_567 and stats.likes == 8910 and stats.comments == 11
    assert stats.author == "Rick" and stats.author_id == "UCuAXFkgsw1L7xaCfnd5JJOw" and stats.title == "Song"
    assert stats.published_at == datetime(2009, 10, 25, 6, 57, 33, tzinfo=timezone.utc)
    assert stats.duration_seconds == 213
    call = youtube.state.calls[0]
    assert call["params"]["part"] == "snippet,statistics,contentDetails"


async def test_hidden_likes_and_disabled_comments_are_none(youtube, make_adapter):
    youtube.state.add_video("hiddenlikes", views=10, likes=None, comments=None)
    adapter = make_adapter()
    stats = (await adapter.fetch_many(["hiddenlikes"]))["hiddenlikes"]
    await adapter.close()
    assert stats.views == 10 and stats.likes is None and stats.comments is None


async def test_120_ids_take_three_calls_and_missing_ids_are_not_found(youtube, make_adapter):
    ids = [f"vid{n:08d}" for n in range(120)]
    for n, video_id in enumerate(ids):
        if n % 10 != 0:  # every tenth is private/deleted: missing from items
            youtube.state.add_video(video_id, views=n)
    adapter = make_adapter()
    result = await adapter.fetch_many(ids + ids[:5])  # duplicates are asked once
    await adapter.close()
    sizes = sorted(len(c) for c in youtube.state.ids_per_call())
    assert sizes == [20, 50, 50]
    assert sorted(i for c in youtube.state.ids_per_call() for i in c) == sorted(ids)
    assert set(result) == set(ids)
    missing = [i for i, r in result.items() if isinstance(r, PermanentError)]
    assert len(missing) == 12 and all(result[i].reason == NOT_FOUND for i in missing)
    assert result["vid00000011"].views == 11


async def test_quota_exceeded_raises_with_until_next_pacific_midnight(youtube, make_adapter):
    youtube.state.add_video("abc", views=1)
    youtube.state.fail_next("quota")
    adapter = make_adapter()
    with pytest.raises(QuotaExceededError) as caught:
        await adapter.fetch_many(["abc"])
    await adapter.close()
    until = caught.value.until
    now = datetime.now(timezone.utc)
    assert 0 < (until - now).total_seconds() <= 25 * 3600
    assert len(youtube.state.calls) == 1  # quota is never retried


def test_next_pacific_midnight_across_dst():
    # 2024-07-01 20:00 UTC is 13:00 PDT (UTC-7): midnight PDT is 07:00 UTC next day.
    assert next_pacific_midnight(datetime(2024, 7, 1, 20, tzinfo=timezone.utc)) == datetime(
        2024, 7, 2, 7, tzinfo=timezone.utc
    )
    # 2024-01-15 09:00 UTC is 01:00 PST (UTC-8): next midnight is 08:00 UTC on the 16th.
    assert next_pacific_midnight(datetime(2024, 1, 15, 9, tzinfo=timezone.utc)) == datetime(
        2024, 1, 16, 8, tzinfo=timezone.utc
    )


@pytest.mark.parametrize("failure", ["500", "429"])
async def test_server_errors_are_retried_then_succeed(youtube, make_adapter, failure):
    youtube.state.add_video("abc", views=5)
    youtube.state.fail_next(failure)
    youtube.state.retry_after = 0
    adapter = make_adapter()
    result = await adapter.fetch_many(["abc"])
    await adapter.close()
    assert result["abc"].views == 5
    assert len(youtube.state.calls) == 2


async def test_persistent_429_is_transient_with_retry_after(youtube, make_adapter):
    youtube.state.add_video("abc", views=5)
    youtube.state.fail_next("429", times=5)
    youtube.state.retry_after = 17
    adapter = make_adapter(retry=NO_RETRY)
    result = await adapter.fetch_many(["abc"])
    await adapter.close()
    error = result["abc"]
    assert isinstance(error, TransientError) and error.retry_after == 17 and error.status == 429


async def test_persistent_500_is_transient_per_id(youtube, make_adapter):
    youtube.state.fail_next("500", times=5)
    adapter = make_adapter()
    result = await adapter.fetch_many(["a", "b"])
    await adapter.close()
    assert all(isinstance(r, TransientError) and r.status == 500 for r in result.values())
    assert len(youtube.state.calls) == FAST_POLICY.attempts


async def test_garbage_body_is_bad_response(youtube, make_adapter):
    youtube.state.fail_next("garbage", times=5)
    adapter = make_adapter()
    result = await adapter.fetch_many(["a"])
    await adapter.close()
    assert isinstance(result["a"], BadResponseError)
    assert len(youtube.state.calls) == FAST_POLICY.bad_response_attempts


async def test_invalid_key_is_a_config_error(youtube, make_adapter):
    adapter = make_adapter(api_key="wrong-key")
    with pytest.raises(YouTubeConfigError) as caught:
        await adapter.fetch_many(["a"])
    await adapter.close()
    assert caught.value.reason == "keyInvalid"
    assert len(youtube.state.calls) == 1


def test_missing_key_is_refused_at_construction():
    with pytest.raises(YouTubeConfigError):
        YouTubeAdapter(api_key="")


async def test_rate_limit_403_is_transient(youtube, make_adapter):
    youtube.state.fail_next("rate_limit", times=5)
    adapter = make_adapter(retry=NO_RETRY)
    result = await adapter.fetch_many(["a"])
    await adapter.close()
    assert isinstance(result["a"], TransientError)


async def test_account_by_handle_and_by_id(youtube, make_adapter):
    youtube.state.add_channel(
        "UCuAXFkgsw1L7xaCfnd5JJOw", handle="RickAstley", title="Rick Astley", description="Official. zenith-7F3K"
    )
    adapter = make_adapter()
    by_handle = await adapter.fetch_account("@RickAstley")
    by_id = await adapter.fetch_account("UCuAXFkgsw1L7xaCfnd5JJOw")
    with pytest.raises(PermanentError):
        await adapter.fetch_account("@nobody")
    await adapter.close()
    assert by_handle == by_id
    assert by_handle.external_id == "UCuAXFkgsw1L7xaCfnd5JJOw" and by_handle.handle == "rickastley"
    assert "zenith-7F3K" in by_handle.description
    assert youtube.state.calls[0]["params"]["forHandle"] == "@RickAstley"
    assert youtube.state.calls[1]["params"]["id"] == "UCuAXFkgsw1L7xaCfnd5JJOw"


@pytest.mark.parametrize(
    ("text", "seconds"),
    [
        ("PT1H2M3S", 3723),
        ("PT15S", 15),
        ("PT4M", 240),
        ("P1DT2H", 93600),
        ("P0D", 0),
        ("PT0S", 0),
        ("", None),
        ("1:02", None),
    ],
)
def test_parse_duration(text, seconds):
    assert parse_duration(text) == seconds


async def test_account_age_and_subscribers_from_channels_list(youtube, make_adapter):
    """channels.list's snippet.publishedAt and statistics.subscriberCount (a string); a hidden count is None."""
    youtube.state.add_channel("UC" + "a" * 22, handle="Old", published_at="2012-03-04T05:06:07Z", subscribers=98_700)
    youtube.state.add_channel("UC" + "b" * 22, handle="Shy", hidden_subscribers=True)
    adapter = make_adapter()
    old = await adapter.fetch_account("UC" + "a" * 22)
    shy = await adapter.fetch_account("@Shy")
    await adapter.close()
    assert old.created_at == datetime(2012, 3, 4, 5, 6, 7, tzinfo=timezone.utc)
    assert (old.followers, shy.followers) == (98_700, None)
    assert youtube.state.calls[0]["params"]["part"] == "snippet,statistics"
