"""View counts from TikTok's public video pages (one request per video).

Why pages and not yt-dlp or the official API: the official Display API only shows a
creator's own videos after OAuth; yt-dlp is a large dependency that mostly does the
same page read and hides block pages inside generic errors. Reading the embedded
JSON ourselves costs one request per video and lets us tell a block page
(``BlockedError``: pause TikTok) from a private or deleted video (``PermanentError``).
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from zenith.platforms.base import AccountInfo
from zenith.platforms.errors import NOT_FOUND, BlockedError, PermanentError, PlatformError, is_transient_status
from zenith.platforms.http_common import (
    TRANSPORT_ERRORS,
    read_limited,
    transient_from_exception,
    transient_from_status,
)
from zenith.platforms.page_adapter import PageAdapter
from zenith.platforms.retrying import TIKTOK
from zenith.platforms.tiktok_page import PLATFORM, parse_profile_page, parse_video_page

DEFAULT_BASE_URL = "https://www.tiktok.com"
MAX_PAGE_BYTES = 3 * 1024 * 1024


class TikTokAdapter(PageAdapter):
    """``PlatformAdapter`` for TikTok.

    :param base_url: web base URL. Default ``https://www.tiktok.com``.
    :param timeout: seconds per page. Default 10.
    :param concurrency: pages in flight at once. Default 4.
    :param retry: retry policy per page. Default ``retrying.TIKTOK``.
    :param session: an aiohttp session to use (not closed by ``close``); default: own
        (keeps TikTok's cookies between pages, as a browser would).
    """

    platform = PLATFORM
    default_retry = TIKTOK

    def __init__(self, *, base_url: str = DEFAULT_BASE_URL, **options: Any) -> None:
        super().__init__(base_url=base_url, **options)

    def video_url(self, video_id: str) -> str:
        # TikTok resolves a video by its id alone; "_" stands in for the unknown handle.
        return f"{self._base_url}/@_/video/{quote(video_id, safe='')}"

    async def fetch_account(self, handle_or_id: str) -> AccountInfo:
        """The profile ``@handle`` (bio in ``description``); ``PermanentError`` if none."""
        handle = handle_or_id.strip().lstrip("@")
        html = await self._retry.call(
            self._get_page, f"{self._base_url}/@{quote(handle, safe='._')}", label="tiktok profile page"
        )
        return parse_profile_page(html, handle)

    async def _fetch_item(self, video_id: str):
        html = await self._get_page(self.video_url(video_id))
        return parse_video_page(html, video_id)

    async def _get_page(self, url: str) -> str:
        session = await self._session.get()
        try:
            async with session.get(url, timeout=self._timeout, max_redirects=3) as response:
                if response.status == 403:
                    raise BlockedError(f"tiktok: HTTP 403 for {url}", platform=PLATFORM)
                if response.status in (404, 410):
                    raise PermanentError(
                        f"tiktok: HTTP {response.status} for {url}", reason=NOT_FOUND, platform=PLATFORM
                    )
                if is_transient_status(response.status):
                    raise transient_from_status(response, platform=PLATFORM)
                body = await read_limited(response, limit=MAX_PAGE_BYTES, platform=PLATFORM)
                return body.decode(response.charset or "utf-8", "replace")
        except PlatformError:
            raise
        except TRANSPORT_ERRORS as exc:
            raise transient_from_exception(exc, platform=PLATFORM) from exc
