"""Building the platform clients from ``Settings`` (the only place that reads them)."""

from __future__ import annotations

from zenith.config import Settings
from zenith.platforms.base import PlatformAdapter
from zenith.platforms.cryptopay import CryptoPayClient
from zenith.platforms.instagram import InstagramAdapter
from zenith.platforms.safe_http import SafeHttpClient
from zenith.platforms.tiktok import TikTokAdapter
from zenith.platforms.youtube import YouTubeAdapter


def build_adapters(settings: Settings) -> dict[str, PlatformAdapter]:
    """``{"youtube": ..., "tiktok": ..., "instagram": ...}``; YouTube only when YOUTUBE_API_KEY is set.

    Callers own the adapters and ``await adapter.close()`` when done.
    """
    timeout = float(settings.http_timeout_seconds)
    adapters: dict[str, PlatformAdapter] = {
        "tiktok": TikTokAdapter(base_url=settings.tiktok_base_url, timeout=timeout),
        "instagram": InstagramAdapter(base_url=settings.instagram_base_url, timeout=timeout),
    }
    if settings.youtube_api_key:
        adapters["youtube"] = YouTubeAdapter(api_key=settings.youtube_api_key, base_url=settings.youtube_api_url, timeout=timeout)
    return adapters


def build_cryptopay(settings: Settings) -> CryptoPayClient:
    """The Crypto Pay client (raises ``CryptoPayConfigError`` when CRYPTO_PAY_TOKEN is empty)."""
    return CryptoPayClient(token=settings.crypto_pay_token or "", base_url=settings.crypto_pay_url, timeout=float(settings.http_timeout_seconds))


def build_safe_http(settings: Settings, **overrides: object) -> SafeHttpClient:
    """The SSRF-safe client for user-supplied short links (see ``SafeHttpClient``)."""
    return SafeHttpClient.from_settings(settings, **overrides)
