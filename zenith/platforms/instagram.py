"""View counts from Instagram's public post pages (one request per reel).

The official Graph API only reports insights of accounts that connected through
Facebook Login, so, as for TikTok, the project reads the JSON Instagram embeds in the
public page. Instagram answers an anonymous client it distrusts with a login wall (a
redirect to ``/accounts/login/`` or a page without data): that is ``BlockedError``
(pause Instagram), never zero views; a removed post is ``PermanentError``.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from zenith.platforms.base import AccountInfo
from zenith.platforms.errors import NOT_FOUND, BlockedError, PermanentError, PlatformError, is_transient_status
from zenith.platforms.http_common import (
    TRANSPORT_ERRORS,
    parse_json,
    read_limited,
    transient_from_exception,
    transient_from_status,
)
from zenith.platforms.instagram_page import PLATFORM, parse_post_page, parse_profile_info
from zenith.platforms.page_adapter import PageAdapter
from zenith.platforms.retrying import INSTAGRAM

DEFAULT_BASE_URL = "https://www.instagram.com"
MAX_PAGE_BYTES = 3 * 1024 * 1024
# The public id of Instagram's own web app; its profile endpoint refuses requests without it.
WEB_APP_ID = "936619743392459"
WALL_PATHS = ("/accounts/login", "/challenge", "/privacy/checks")


class InstagramAdapter(PageAdapter):
    """``PlatformAdapter`` for Instagram Reels (and video posts).

    :param base_url: web base URL. Default ``https://www.instagram.com``.
    :param timeout: seconds per page. Default 10.
    :param concurrency: pages in flight at once. Default 4.
    :param retry: retry policy per page. Default ``retrying.INSTAGRAM``.
    :param session: an aiohttp session to use (not closed by ``close``); default: own.
    """

    platform = PLATFORM
    default_retry = INSTAGRAM

    def __init__(self, *, base_url: str = DEFAULT_BASE_URL, **options: Any) -> None:
        super().__init__(base_url=base_url, **options)

    def post_url(self, shortcode: str) -> str:
        return f"{self._base_url}/p/{quote(shortcode, safe='')}/"

    async def fetch_account(self, handle_or_id: str) -> AccountInfo:
        """The profile ``@username`` (bio in ``description``); ``PermanentError`` if none."""
        username = handle_or_id.strip().lstrip("@").lower()
        url = f"{self._base_url}/api/v1/users/web_profile_info/?username={quote(username, safe='._')}"
        body = await self._retry.call(
            self._get, url, {"X-IG-App-ID": WEB_APP_ID, "Accept": "application/json"}, label="instagram profile"
        )
        return parse_profile_info(parse_json(body, platform=PLATFORM), username)

    async def _fetch_item(self, shortcode: str):
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
                    raise PermanentError(
                        f"instagram: HTTP {response.status} for {url}", reason=NOT_FOUND, platform=PLATFORM
                    )
                if is_transient_status(response.status):
                    raise transient_from_status(response, platform=PLATFORM)
                return await read_limited(response, limit=MAX_PAGE_BYTES, platform=PLATFORM)
        except PlatformError:
            raise
        except TRANSPORT_ERRORS as exc:
            raise transient_from_exception(exc, platform=PLATFORM) from exc
