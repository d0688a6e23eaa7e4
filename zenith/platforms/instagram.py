"""View counts from Instagram's public post pages (one request per reel).

The official Graph API only reports insights of accounts that connected through
Facebook Login, so, as for TikTok, the project reads the JSON Instagram embeds in the
public page. Instagram answers an anonymous client it distrusts with a login wall (a
redirect to ``/accounts/login/`` or a page without data): that is ``BlockedError``
(pause Instagram), never zero views; a removed post is ``PermanentError``.
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
    parse_json,
    read_limited,
    transient_from_exception,
    transient_from_status,
)
from zenith.platforms.instagram_page import PLATFORM, parse_post_page, parse_profile_info
from zenith.platforms.retrying import DEFAULT_POLICY, RetryPolicy, call_with_retry
from zenith.platforms.tiktok import BROWSER_HEADERS

DEFAULT_BASE_URL = "https://www.instagram.com"
MAX_PAGE_BYTES = 3 * 1024 * 1024
# The public id of Instagram's own web app; its profile endpoint refuses requests without it.
WEB_APP_ID = "936619743392459"
WALL_PATHS = ("/accounts/login", "/challenge", "/privacy/checks")


class InstagramAdapter:
    """``PlatformAdapter`` for Instagram Reels (and video posts).

    :param base_url: web base URL. Default ``https://www.instagram.com``.
    :param timeout: seconds per page. Default 10.
    :param concurrency: pages in flight at once. Default 4.
    :param retry: retry policy per page. Default ``DEFAULT_POLICY``.
    :param session: an aiohttp session to use (not closed by ``close``); default: own.
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

    def post_url(self, shortcode: str) -> str:
        return f"{self._base_url}/p/{quote(shortcode, safe='')}/"

    async def fetch_many(self, video_ids: list[str]) -> dict[str, VideoResult]:
        """Stats per shortcode; raises ``BlockedError`` as soon as any page is a login wall."""
        unique = list(dict.fromkeys(v for v in video_ids if v))
        blocked = asyncio.Event()

        async def one(shortcode: str) -> VideoResult:
            async with self._semaphore:
                if blocked.is_set():  # do not keep knocking once Instagram refuses us
                    raise BlockedError("instagram: blocked earlier in this batch", platform=PLATFORM)
                try:
                    return await call_with_retry(self._fetch_post, shortcode, policy=self._retry)
                except BlockedError:
                    blocked.set()
                    raise
                except PlatformError as exc:
                    return exc

        outcomes = await asyncio.gather(*(one(v) for v in unique), return_exceptions=True)
        results: dict[str, VideoResult] = {}
        for shortcode, outcome in zip(unique, outcomes, strict=True):
            if isinstance(outcome, BlockedError):
                raise outcome
            if isinstance(outcome, BaseException):
                outcome = as_platform_error(outcome, platform=PLATFORM)
            results[shortcode] = outcome
        return results

    async def fetch_account(self, handle_or_id: str) -> AccountInfo:
        """The profile ``@username`` (bio in ``description``); ``PermanentError`` if none."""
        username = handle_or_id.strip().lstrip("@").lower()
        url = f"{self._base_url}/api/v1/users/web_profile_info/?username={quote(username, safe='._')}"
        body = await call_with_retry(self._get, url, {"X-IG-App-ID": WEB_APP_ID, "Accept": "application/json"}, policy=self._retry)
        return parse_profile_info(parse_json(body, platform=PLATFORM), username)

    async def _fetch_post(self, shortcode: str):
        body = await self._get(self.post_url(shortcode), None)
        return parse_post_page(body.decode("utf-8", "replace"), shortcode)

    async def _get(self, url: str, headers: dict[str, str] | None) -> bytes:
        session = await self._session.get()
        try:
            async with session.get(url, headers=headers, timeout=self._timeout, max_redirects=3) as response:
                if response.url.path.startswith(WALL_PATHS):
                    raise BlockedError(f"instagram: redirected to {response.url.path} for {url}", platform=PLATFORM)
                if response.status in (401, 403):
                    raise BlockedError(f"instagram: HTTP {response.status} for {url}", platform=PLATFORM)
                if response.status in (404, 410):
                    raise PermanentError(f"instagram: HTTP {response.status} for {url}", reason=NOT_FOUND, platform=PLATFORM)
                if is_retryable_status(response.status):
                    raise transient_from_status(response, platform=PLATFORM)
                return await read_limited(response, limit=MAX_PAGE_BYTES, platform=PLATFORM)
        except PlatformError:
            raise
        except TRANSPORT_ERRORS as exc:
            raise transient_from_exception(exc, platform=PLATFORM) from exc
