"""Clients built from settings reach the configured (fake) servers."""

from __future__ import annotations

from decimal import Decimal

import pytest

from zenith.platforms.base import PlatformAdapter
from zenith.platforms.cryptopay_types import CryptoPayConfigError
from zenith.platforms.factory import build_adapters, build_cryptopay


async def test_build_adapters_from_settings(make_settings, youtube, tiktok):
    youtube.state.add_video("yt1", views=10)
    tiktok.state.add_video("7300000000000000009", views=20)
    settings = make_settings(YOUTUBE_API_KEY=youtube.state.api_key, YOUTUBE_API_URL=youtube.url + "/youtube/v3", TIKTOK_BASE_URL=tiktok.url)
    adapters = build_adapters(settings)
    try:
        assert set(adapters) == {"youtube", "tiktok"}
        assert all(isinstance(a, PlatformAdapter) for a in adapters.values())
        assert (await adapters["youtube"].fetch_many(["yt1"]))["yt1"].views == 10
        assert (await adapters["tiktok"].fetch_many(["7300000000000000009"]))["7300000000000000009"].views == 20
    finally:
        for adapter in adapters.values():
            await adapter.close()


def test_youtube_needs_a_key(make_settings):
    assert set(build_adapters(make_settings())) == {"tiktok"}


async def test_build_cryptopay(make_settings, cryptopay):
    client = build_cryptopay(make_settings(CRYPTO_PAY_TOKEN=cryptopay.state.token, CRYPTO_PAY_URL=cryptopay.url + "/api"))
    try:
        balances = {b.currency_code: b.available for b in await client.get_balance()}
        assert balances["TON"] == Decimal("500")
    finally:
        await client.close()
    with pytest.raises(CryptoPayConfigError):
        build_cryptopay(make_settings())
