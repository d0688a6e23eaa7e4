"""What the page-reading adapters (TikTok, Instagram) share: one session, bounded
pages in flight, a retry per page, and a batch that stops knocking once blocked.

A subclass sets ``platform`` and ``default_retry`` (its named policy) and implements ``_fetch_item`` (one page, one result).
"""

from __future__ import annotations

import abc
import asyncio

import aiohttp

from zenith.platforms.base import VideoResult
from zenith.platforms.errors import BlockedError, PlatformError
from zenith.platforms.http_common import OwnedSession, as_platform_error
from zenith.platforms.retrying import RetryPolicy

# What a desktop Chrome sends; the platforms serve challenge pages to obvious bots.
BROWSER_HEADERS = {
    "User-Agent": "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36",
    "Accept": "text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,image/webp,*/*;q=0.8",
    "Accept-Language": "en-US,en;q=0.9",
    "Sec-Fetch-Dest": "document",
    "Sec-Fetch-Mode": "navigate",
    "Sec-Fetch-Site": "none",
    "Upgrade-Insecure-Requests": "1",
}


class PageAdapter(abc.ABC):
    """Base of the adapters that read one public page per video.

    :param base_url: web base URL.
    :param timeout: seconds per page. Default 10.
    :param concurrency: pages in flight at once. Default 4.
    :param retry: retry policy per page. Default: the platform's ``default_retry``.
    :param session: an aiohttp session to use (not closed by ``close``); default: own
        (keeps the platform's cookies between pages, as a browser would).
    """

    platform: str
    default_retry: RetryPolicy

    def __init__(
        self,
        *,
        base_url: str,
        timeout: float = 10.0,
        concurrency: int = 4,
        retry: RetryPolicy | None = None,
        session: aiohttp.ClientSession | None = None,
    ) -> None:
        self._base_url = base_url.rstrip("/")
        self._timeout = aiohttp.ClientTimeout(total=timeout)
        self._semaphore = asyncio.Semaphore(concurrency)
        self._retry = retry or self.default_retry
        self._session = OwnedSession(session=session, timeout=self._timeout, headers=BROWSER_HEADERS)

    async def close(self) -> None:
        await self._session.close()

    @abc.abstractmethod
    async def _fetch_item(self, video_id: str) -> VideoResult:
        """Read one video's page (retried by ``fetch_many``'s policy)."""

    async def fetch_many(self, video_ids: list[str]) -> dict[str, VideoResult]:
        """Stats per id; raises ``BlockedError`` as soon as any page is a block page."""
        unique = list(dict.fromkeys(v for v in video_ids if v))
        blocked = asyncio.Event()

        async def one(video_id: str) -> VideoResult:
            async with self._semaphore:
                if blocked.is_set():  # do not keep knocking once the platform refuses us
                    raise BlockedError(f"{self.platform}: blocked earlier in this batch", platform=self.platform)
                try:
                    return await self._retry.call(self._fetch_item, video_id, label=f"{self.platform} page")
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
                outcome = as_platform_error(outcome, platform=self.platform)
            results[video_id] = outcome
        return results
