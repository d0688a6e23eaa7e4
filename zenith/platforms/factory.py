"""Building the outside-service clients from ``Settings``: the one place that does it.

The worker runtime (``zenith.actors.runtime``) calls these lazily, on its event loop,
and owns what they return (``await client.close()`` at shutdown).
"""

from __future__ import annotations

from zenith.config import Settings
from zenith.domain.links import Platform
from zenith.platforms.base import PlatformAdapter
from zenith.platforms.cryptopay import CryptoPayClient
from zenith.platforms.instagram import InstagramAdapter
from zenith.platforms.retrying import INSTAGRAM, TIKTOK, YOUTUBE, RetryPolicy
from zenith.platforms.safe_http import SafeHttpClient
from zenith.platforms.tiktok import TikTokAdapter
from zenith.platforms.youtube import YouTubeAdapter

# HTTP calls in flight per platform and process (YouTube: batches of 50 ids; TikTok: pages)
DEFAULT_CONCURRENCY = 8


def build_adapter(
    settings: Settings,
    platform: Platform | str,
    *,
    concurrency: int = DEFAULT_CONCURRENCY,
    retry: RetryPolicy | None = None,
) -> PlatformAdapter:
    """The view-count adapter of ``platform``.

    Raises ``ConfigurationError`` (``YouTubeConfigError``) for YouTube without
    YOUTUBE_API_KEY, so YouTube links are answered "not configured"; ValueError for an
    unknown platform.

    :param retry: a policy instead of the platform's own (``retrying.YOUTUBE``, ...).
    """
    timeout = float(settings.http_timeout_seconds)
    chosen = Platform(platform)
    if chosen is Platform.YOUTUBE:
        return YouTubeAdapter(
            api_key=settings.youtube_api_key or "",
            base_url=settings.youtube_api_url,
            timeout=timeout,
            concurrency=concurrency,
            retry=retry or YOUTUBE,
        )
    if chosen is Platform.INSTAGRAM:
        return InstagramAdapter(
            base_url=settings.instagram_base_url, timeout=timeout, concurrency=concurrency, retry=retry or INSTAGRAM
        )
    return TikTokAdapter(
        base_url=settings.tiktok_base_url, timeout=timeout, concurrency=concurrency, retry=retry or TIKTOK
    )


def build_cryptopay(settings: Settings) -> CryptoPayClient:
    """The Crypto Pay client (raises ``CryptoPayConfigError`` when CRYPTO_PAY_TOKEN is empty)."""
    return CryptoPayClient(
        token=settings.crypto_pay_token or "",
        base_url=settings.crypto_pay_url,
        timeout=float(settings.http_timeout_seconds),
    )


def build_link_resolver(settings: Settings, **overrides: object) -> SafeHttpClient:
    """The SSRF-safe client that resolves user-supplied short links (see ``SafeHttpClient``)."""
    return SafeHttpClient.from_settings(settings, **overrides)
