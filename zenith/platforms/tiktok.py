"""View counts from TikTok's public video pages (one request per video).

Why pages and not yt-dlp or the official API: the official Display API only shows a
creator's own videos after OAuth; yt-dlp is a large dependency that mostly does the
same page read and hides block pages inside generic errors. Reading the embedded
JSON ourselves costs one request per video and lets us tell a block page
(``BlockedError``: pause TikTok) from a private or deleted video (``PermanentError``).
"""

from __future__ import annotations

import asyncio
from urllib.parse import quote

import aiohttp

from zenith.platforms.base import AccountInfo, VideoResult
from zenith.platforms.errors import NOT_FOUND, BlockedError, PermanentError, PlatformError
from zenith.platforms.http_common import (
    TRANSPORT_ERRORS,
    OwnedSession,
    as_platform_error,
    is_retryable_status,
    read_limited,
    transient_from_exception,
    transient_from_status,
)
from zenith.platforms.retrying import DEFAULT_POLICY, RetryPolicy, call_with_retry
from zenith.platforms.tiktok_page import PLATFORM, parse_profile_page, parse_video_page

DEFAULT_BASE_URL = "https://www.tiktok.com"
MAX_PAGE_BYTES = 3 * 1024 * 1024
# What a desktop Chrome sends; TikTok serves the challenge page to obvious bots.
BROWSER_HEADERS = {
    "User-Agent": "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36",
    "Accept": "text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,image/webp,*/*;q=0.8",
    "Accept-Language": "en-US,en;q=0.9",
    "Sec-Fetch-Dest": "document",
    "Sec-Fetch-Mode": "navigate",
    "Sec-Fetch-Site": "none",
    "Upgrade-Insecure-Requests": "1",
}


class TikTokAdapter:
    """``PlatformAdapter`` for TikTok.

    :param base_url: web base URL. Default ``https://www.tiktok.com``.
    :param timeout: seconds per page. Default 10.
    :param concurrency: pages in flight at once. Default 4.
    :param retry: retry policy per page. Default ``DEFAULT_POLICY``.
    :param session: an aiohttp session to use (not closed by ``close``); default: own
        (keeps TikTok's cookies between pages, as a browser would).
    """

    platform = PLATFORM

    def __init__(
        self,
        *,
        base_url: str = DEFAULT_BASE_URL,
        timeout: float = 10.0,
        concurrency: int = 4,
        retry: RetryPolicy = DEFAULT_POLICY,
        session: aiohttp.ClientSession | None = None,
    ) -> None:
        self._base_url = base_url.rstrip("/")
        self._timeout = aiohttp.ClientTimeout(total=timeout)
        self._semaphore = asyncio.Semaphore(concurrency)
        self._retry = retry
        self._session = OwnedSession(session=session, timeout=self._timeout, headers=BROWSER_HEADERS)

    async def close(self) -> None:
        await self._session.close()

    def video_url(self, video_id: str) -> str:
        # TikTok resolves a video by its id alone; "_" stands in for the unknown handle.
        return f"{self._base_url}/@_/video/{quote(video_id, safe='')}"

    async def fetch_many(self, video_ids: list[str]) -> dict[str, VideoResult]:
        """Stats per id; raises ``BlockedError`` as soon as any page is a block page."""
        unique = list(dict.fromkeys(v for v in video_ids if v))
        blocked = asyncio.Event()

        async def one(video_id: str) -> VideoResult:
            async with self._semaphore:
                if blocked.is_set():  # do not keep knocking once TikTok refuses us
                    raise BlockedError("tiktok: blocked earlier in this batch", platform=PLATFORM)
                try:
                    return await call_with_retry(self._fetch_video, video_id, policy=self._retry)
                except BlockedError:
                    blocked.set()
                    raise
                except PlatformError as exc:
                    return exc

        outcomes = await asyncio.gather(*(one(v) for v in unique), return_exceptions=True)
        results: dict[str, VideoResult] = {}
        for video_id, outcome in zip(unique, outcomes, strict=True):
            if isinstance(outcome, BlockedError):
                raise outcome
            if isinstance(outcome, BaseException):
                outcome = as_platform_error(outcome, platform=PLATFORM)
            results[video_id] = outcome
        return results

    async def fetch_account(self, handle_or_id: str) -> AccountInfo:
        """The profile ``@handle`` (bio in ``description``); ``PermanentError`` if none."""
        handle = handle_or_id.strip().lstrip("@")
        html = await call_with_retry(self._get_page, f"{self._base_url}/@{quote(handle, safe='._')}", policy=self._retry)
        return parse_profile_page(html, handle)

    async def _fetch_video(self, video_id: str):
        html = await self._get_page(self.video_url(video_id))
        return parse_video_page(html, video_id)

    async def _get_page(self, url: str) -> str:
        session = await self._session.get()
        try:
            async with session.get(url, timeout=self._timeout, max_redirects=3) as response:
                if response.status == 403:
                    raise BlockedError(f"tiktok: HTTP 403 for {url}", platform=PLATFORM)
                if response.status in (404, 410):
                    raise PermanentError(f"tiktok: HTTP {response.status} for {url}", reason=NOT_FOUND, platform=PLATFORM)
                if is_retryable_status(response.status):
                    raise transient_from_status(response, platform=PLATFORM)
                body = await read_limited(response, limit=MAX_PAGE_BYTES, platform=PLATFORM)
                return body.decode(response.charset or "utf-8", "replace")
        except PlatformError:
            raise
        except TRANSPORT_ERRORS as exc:
            raise transient_from_exception(exc, platform=PLATFORM) from exc
