"""Instagram: page fixtures of both layouts, and the adapter against the local fake
(walls, removed and private posts, photos, rate limits, broken data, profiles, share links)."""

from __future__ import annotations

from datetime import datetime, timezone
from pathlib import Path

import pytest

from tests.fakes.instagram import run_fake_instagram
from tests.fast_retries import FAST_POLICY
from zenith.domain.links import parse_link
from zenith.platforms.errors import (
    NOT_FOUND,
    PRIVATE,
    UNAVAILABLE,
    BadResponseError,
    BlockedError,
    PermanentError,
    TransientError,
)
from zenith.platforms.instagram import InstagramAdapter
from zenith.platforms.instagram_page import parse_post_page, parse_profile_info
from zenith.platforms.retrying import RetryPolicy
from zenith.platforms.safe_http import SafeHttpClient

FIXTURES = Path(__file__).with_name("fixtures")


@pytest.fixture
def instagram():
    with run_fake_instagram() as server:
        yield server


@pytest.fixture
async def adapter(instagram):
    adapter = InstagramAdapter(base_url=instagram.url, retry=FAST_POLICY, concurrency=3)
    yield adapter
    await adapter.close()


def test_current_page_fixture():
    stats = parse_post_page((FIXTURES / "instagram_reel.html").read_text(encoding="utf-8"), "C7pQ2rLsT9x")
    # play_count is null on this page: the Instagram-only play count stands in
    assert (stats.views, stats.likes, stats.comments) == (1_287_345, 48_213, 612)
    assert (stats.author, stats.author_id) == ("mira.moves", "41873520913")
    assert stats.published_at == datetime.fromtimestamp(1_716_307_201, timezone.utc)
    assert stats.duration_seconds == 15 and stats.video_id == "C7pQ2rLsT9x"
    assert "#ZenithDance" in stats.title and "@zenith.media" in stats.title and "✨🔥" in stats.title


def test_legacy_page_fixture():
    stats = parse_post_page((FIXTURES / "instagram_post_legacy.html").read_text(encoding="utf-8"), "CZ9kLmN0pQr")
    assert (stats.views, stats.likes, stats.comments) == (95_120, 5_120, 87)  # plays, not the older "views"
    assert (stats.author, stats.author_id, stats.duration_seconds) == ("snow.lena", "1893456702", 30)
    assert stats.title.startswith("Winter ride") and "#zenithride" in stats.title


def test_login_wall_fixture_is_blocked_never_zero():
    with pytest.raises(BlockedError, match="/accounts/login/"):
        parse_post_page((FIXTURES / "instagram_login_wall.html").read_text(encoding="utf-8"), "C7pQ2rLsT9x")


@pytest.mark.parametrize(
    "html, error, reason",
    [
        ("<html><body>Something went wrong</body></html>", BlockedError, None),
        (
            "<html><title>Page not found • Instagram</title><h2>Sorry, this page isn't available.</h2></html>",
            PermanentError,
            NOT_FOUND,
        ),
        ("<html><h2>This account is private</h2></html>", PermanentError, PRIVATE),
        (
            '<script type="application/json" data-sjs>{"a":{"xdt_api__v1__media__shortcode__web_info":{"items":[{"code":"x","media_type":2,"play_count":"lots"}]}}}</script>',
            BadResponseError,
            None,
        ),
        (
            '<script type="application/json" data-sjs>{"a":{"xdt_api__v1__media__shortcode__web_info":{"items":[{"code":"x","media_type":2,"play_count":-5}]}}}</script>',
            BadResponseError,
            None,
        ),
        (
            '<script type="application/json" data-sjs>{"a":{"xdt_api__v1__media__shortcode__web_info":{"items":[{"code":"x","media_type":2}]}}}</script>',
            BadResponseError,
            None,
        ),
        (
            '<script type="application/json" data-sjs>{"a":{"xdt_api__v1__media__shortcode__web_info":["x"]}}</script>',
            BadResponseError,
            None,
        ),
        (
            '<script type="application/json" data-sjs>{"a":{"xdt_api__v1__media__shortcode__web_info":null}}</script>',
            PermanentError,
            NOT_FOUND,
        ),
        (
            '<script type="application/json" data-sjs>{"a":{"xdt_api__v1__media__shortcode__web_info":{"items":[{"code":"x","media_type":1,"like_count":3}]}}}</script>',
            PermanentError,
            UNAVAILABLE,
        ),
    ],
)
def test_pages_without_a_usable_count(html, error, reason):
    with pytest.raises(error) as caught:
        parse_post_page(html, "x")
    assert getattr(caught.value, "reason", None) == reason


async def test_reel_stats_from_the_fake(instagram, adapter):
    instagram.state.add_reel(
        "C8xYz1AbCdE",
        views=45_678,
        likes=1200,
        comments=33,
        author="dancer",
        author_id="4242",
        caption="my dance #zenith",
        taken_at=1_712_345_678,
        duration=27.4,
    )
    stats = (await adapter.fetch_many(["C8xYz1AbCdE"]))["C8xYz1AbCdE"]
    assert (stats.views, stats.likes, stats.comments, stats.author, stats.author_id) == (
        45_678,
        1200,
        33,
        "dancer",
        "4242",
    )
    assert stats.title == "my dance #zenith" and stats.duration_seconds == 27
    assert instagram.state.calls == [("GET", "/p/C8xYz1AbCdE/")]


async def test_legacy_layout_from_the_fake(instagram, adapter):
    instagram.state.add_reel("C8xYz1AbCdF", views=999, likes=5, author="old", author_id="42", layout="legacy")
    stats = (await adapter.fetch_many(["C8xYz1AbCdF"]))["C8xYz1AbCdF"]
    assert (stats.views, stats.likes, stats.author, stats.author_id) == (999, 5, "old", "42")


async def test_gone_private_missing_and_photo_are_permanent_per_item(instagram, adapter):
    instagram.state.add_reel("GoneGone123", status="gone")
    instagram.state.add_reel("Private1234", status="private")
    instagram.state.add_reel("PhotoPost12", media_type=1)
    instagram.state.add_reel("FineReel123", views=10)
    result = await adapter.fetch_many(["GoneGone123", "Private1234", "PhotoPost12", "FineReel123", "NeverExist1"])
    assert {code: getattr(result[code], "reason", None) for code in result} == {
        "GoneGone123": NOT_FOUND,
        "Private1234": PRIVATE,
        "PhotoPost12": UNAVAILABLE,
        "FineReel123": None,
        "NeverExist1": NOT_FOUND,
    }
    assert result["FineReel123"].views == 10
    assert len(instagram.state.calls) == 5  # permanent outcomes are not retried


@pytest.mark.parametrize("block", ["login", "wall", "forbidden"])
async def test_walls_raise_blocked_and_stop_the_batch(instagram, adapter, block):
    codes = [f"BlockReel{n:02d}" for n in range(6)]
    for code in codes:
        instagram.state.add_reel(code, views=100)
    instagram.state.block = block
    with pytest.raises(BlockedError):
        await adapter.fetch_many(codes)
    post_calls = [path for _, path in instagram.state.calls if path.startswith("/p/")]
    assert len(post_calls) <= 3  # 3 in flight at most; none started after the wall


async def test_rate_limit_is_transient_with_retry_after(instagram):
    instagram.state.add_reel("RateLimit12", views=1)
    instagram.state.retry_after = 30
    adapter = InstagramAdapter(base_url=instagram.url, retry=RetryPolicy("instagram", attempts=1))
    result = await adapter.fetch_many(["RateLimit12"])
    await adapter.close()
    assert isinstance(result["RateLimit12"], TransientError) and result["RateLimit12"].retry_after == 30


async def test_broken_data_is_a_bad_response_retried_a_few_times(instagram, adapter):
    instagram.state.add_reel("Garbage1234", views=1)
    instagram.state.garbage = True
    result = await adapter.fetch_many(["Garbage1234"])
    assert isinstance(result["Garbage1234"], BadResponseError)
    assert len(instagram.state.calls) == FAST_POLICY.bad_response_attempts


async def test_views_grow_between_fetches(instagram, adapter):
    instagram.state.add_reel("GrowingReel", views=100)
    first = (await adapter.fetch_many(["GrowingReel"]))["GrowingReel"]
    instagram.state.set_views("GrowingReel", 2500)
    second = (await adapter.fetch_many(["GrowingReel"]))["GrowingReel"]
    assert (first.views, second.views) == (100, 2500)


async def test_profile_bio_for_verification(instagram, adapter):
    instagram.state.add_user("dancer", user_id="4242", bio="dance every day\nzm-ab12cd34", full_name="Dancer D")
    account = await adapter.fetch_account("@Dancer")
    assert (account.external_id, account.handle, account.title) == ("4242", "dancer", "Dancer D")
    assert "zm-ab12cd34" in account.description
    assert ("GET", "/api/v1/users/web_profile_info/?username=dancer") in instagram.state.calls
    with pytest.raises(PermanentError) as caught:
        await adapter.fetch_account("ghost")
    assert caught.value.reason == NOT_FOUND


async def test_profile_behind_a_wall_is_blocked(instagram, adapter):
    instagram.state.add_user("dancer", bio="x")
    instagram.state.block = "forbidden"
    with pytest.raises(BlockedError):
        await adapter.fetch_account("dancer")


@pytest.mark.parametrize("body", [[], {"data": {"user": {"username": "x"}}, "status": "ok"}])
def test_profile_answers_of_the_wrong_shape_are_bad_responses(body):
    with pytest.raises(BadResponseError):
        parse_profile_info(body, "x")


async def test_share_link_resolves_through_the_safe_client_to_the_reel(instagram):
    instagram.state.add_reel("SharedReel1", views=5)
    instagram.state.add_share_link("BAsW3z-Tq9x", "SharedReel1")
    hosts = ("www.instagram.com", "instagram.com")
    async with SafeHttpClient(
        host_map={h: f"127.0.0.1:{instagram.port}" for h in hosts}, allow_http=True, allow_private_network=True
    ) as client:
        final = await client.resolve_short_link("http://www.instagram.com/share/reel/BAsW3z-Tq9x/")
    parsed = parse_link(final)
    assert (parsed.video_id, parsed.canonical_url) == ("SharedReel1", "https://www.instagram.com/p/SharedReel1/")


async def test_profile_follower_count(instagram, adapter):
    instagram.state.add_user("popular", bio="x", followers=31_000)
    account = await adapter.fetch_account("popular")
    assert account.followers == 31_000 and account.created_at is None  # Instagram's profile tells no creation date
