"""Clients built from settings reach the configured (fake) servers."""

from __future__ import annotations

from decimal import Decimal

import pytest

from tests.fakes.env import platform_env
from zenith.domain.links import Platform
from zenith.platforms.base import PlatformAdapter
from zenith.platforms.cryptopay_types import CryptoPayConfigError
from zenith.platforms.errors import ConfigurationError
from zenith.platforms.factory import build_adapter, build_cryptopay, build_link_resolver


async def test_build_adapters_from_settings(make_settings, youtube, tiktok):
    from tests.fakes.instagram import run_fake_instagram

    youtube.state.add_video("yt1", views=10)
    tiktok.state.add_video("7300000000000000009", views=20)
    with run_fake_instagram() as instagram:
        instagram.state.add_reel("C8xYz1AbCdE", views=30)
        settings = make_settings(**platform_env(youtube=youtube, tiktok=tiktok, instagram=instagram))
        adapters = {platform: build_adapter(settings, platform) for platform in Platform}
        try:
            assert all(isinstance(a, PlatformAdapter) for a in adapters.values())
            assert (await adapters[Platform.YOUTUBE].fetch_many(["yt1"]))["yt1"].views == 10
            assert (await adapters[Platform.TIKTOK].fetch_many(["7300000000000000009"]))[
                "7300000000000000009"
            ].views == 20
            assert (await adapters[Platform.INSTAGRAM].fetch_many(["C8xYz1AbCdE"]))["C8xYz1AbCdE"].views == 30
        finally:
            for adapter in adapters.values():
                await adapter.close()


def test_youtube_needs_a_key_and_the_platform_must_exist(make_settings):
    with pytest.raises(ConfigurationError):
        build_adapter(make_settings(), "youtube")
    with pytest.raises(ValueError):
        build_adapter(make_settings(), "vimeo")


async def test_link_resolver_follows_settings(make_settings):
    client = build_link_resolver(make_settings(ALLOW_PRIVATE_NETWORK="true"))
    try:
        assert client.allow_http
    finally:
        await client.close()
    strict = build_link_resolver(make_settings(ALLOW_PRIVATE_NETWORK="false"))
    try:
        assert not strict.allow_http
    finally:
        await strict.close()


async def test_build_cryptopay(make_settings, cryptopay):
    client = build_cryptopay(make_settings(**platform_env(cryptopay=cryptopay)))
    try:
        balances = {b.currency_code: b.available for b in await client.get_balance()}
        assert balances["TON"] == Decimal("500")
    finally:
        await client.close()
    with pytest.raises(CryptoPayConfigError):
        build_cryptopay(make_settings())


def test_fake_reachable_from_a_subprocess(youtube):
    # Other areas run zenith processes against the fakes: the thread-hosted server
    # must answer a request from another process, with the state set here.
    import subprocess
    import sys

    youtube.state.add_video("sub1", views=321)
    code = (
        "import json, urllib.request, sys;"
        "print(json.load(urllib.request.urlopen(sys.argv[1]))['items'][0]['statistics']['viewCount'])"
    )
    url = f"{youtube.url}/youtube/v3/videos?part=statistics&id=sub1&key={youtube.state.api_key}"
    out = subprocess.run([sys.executable, "-c", code, url], capture_output=True, text=True, timeout=30, check=True)
    assert out.stdout.strip() == "321"
