"""Environment variables that point ZenithMedia (in-process or a subprocess) at running fakes."""

from __future__ import annotations

from tests.fakes.cryptopay import FakeCryptoPayState
from tests.fakes.instagram import FakeInstagramState
from tests.fakes.server import FakeServer
from tests.fakes.tiktok import FakeTikTokState
from tests.fakes.youtube import API_PATH, FakeYouTubeState


def platform_env(
    *,
    youtube: FakeServer[FakeYouTubeState] | None = None,
    tiktok: FakeServer[FakeTikTokState] | None = None,
    cryptopay: FakeServer[FakeCryptoPayState] | None = None,
    instagram: FakeServer[FakeInstagramState] | None = None,
) -> dict[str, str]:
    """``YOUTUBE_API_URL``/``YOUTUBE_API_KEY``, ``TIKTOK_BASE_URL``, ``INSTAGRAM_BASE_URL``, ``CRYPTO_PAY_URL``/``CRYPTO_PAY_TOKEN``
    for the given fakes, plus ``ALLOW_PRIVATE_NETWORK=true`` (they listen on 127.0.0.1)."""
    env = {"ALLOW_PRIVATE_NETWORK": "true"}
    if youtube is not None:
        env.update(YOUTUBE_API_URL=youtube.url + API_PATH, YOUTUBE_API_KEY=youtube.state.api_key)
    if tiktok is not None:
        env["TIKTOK_BASE_URL"] = tiktok.url
    if instagram is not None:
        env["INSTAGRAM_BASE_URL"] = instagram.url
    if cryptopay is not None:
        env.update(CRYPTO_PAY_URL=cryptopay.url + "/api", CRYPTO_PAY_TOKEN=cryptopay.state.token)
    return env
