"""View counts from the YouTube Data API v3 (``videos.list``), accounts from ``channels.list``.

One ``videos.list`` call reads up to 50 ids for 1 quota unit, so ``fetch_many``
chunks ids by 50 and runs a few chunks at once. Ids missing from ``items`` are
unknown, private or deleted (the API does not say which): ``PermanentError(NOT_FOUND)``.
"""

from __future__ import annotations

import asyncio
import json
import re
from datetime import datetime
from typing import Any

import aiohttp

from zenith.platforms.base import AccountInfo, VideoResult, VideoStats
from zenith.platforms.counts import parse_count
from zenith.platforms.errors import (
    NOT_FOUND,
    BadResponseError,
    BlockedError,
    ConfigurationError,
    PermanentError,
    PlatformError,
    QuotaExceededError,
    TransientError,
    UnreadableAnswer,
    is_transient_status,
)
from zenith.platforms.http_common import (
    MAX_API_BODY,
    TRANSPORT_ERRORS,
    OwnedSession,
    parse_json,
    read_limited,
    transient_from_exception,
    transient_from_status,
)
from zenith.platforms.retrying import YOUTUBE, RetryPolicy

PLATFORM = "youtube"
DEFAULT_API_URL = "https://www.googleapis.com/youtube/v3"
MAX_IDS_PER_CALL = 50
QUOTA_REASONS = frozenset({"quotaExceeded", "dailyLimitExceeded"})
RATE_REASONS = frozenset({"rateLimitExceeded", "userRateLimitExceeded"})
_DURATION = re.compile(r"^P(?:(?P<d>\d+)D)?(?:T(?:(?P<h>\d+)H)?(?:(?P<m>\d+)M)?(?:(?P<s>\d+(?:\.\d+)?)S)?)?$")
_CHANNEL_ID = re.compile(r"^UC[0-9A-Za-z_-]{22}$")


class YouTubeConfigError(ConfigurationError):
    """The API refused our request itself (invalid key, API not enabled, bad parameter).

    :param reason: Google's reason code, e.g. ``keyInvalid``, ``badRequest``.
    """

    def __init__(self, message: str, *, reason: str | None) -> None:
        super().__init__(message, platform=PLATFORM)
        self.reason = reason


def parse_duration(value: str | None) -> int | None:
    """Seconds in an ISO-8601 duration such as ``PT1H2M3S`` (None if absent or unreadable)."""
    if not value:
        return None
    match = _DURATION.match(value)
    if match is None:
        return None
    d, h, m, s = (match.group(k) for k in "dhms")
    return int(d or 0) * 86400 + int(h or 0) * 3600 + int(m or 0) * 60 + int(float(s or 0))


def _parse_time(value: str | None) -> datetime | None:
    if not value:
        return None
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None


def _count(statistics: dict[str, Any], key: str) -> int | None:
    return parse_count(statistics.get(key), what=key, platform=PLATFORM)


def _subscribers(statistics: dict[str, Any]) -> int | None:
    """A channel's subscriber count (a string, rounded by YouTube); None when the channel hides it."""
    if statistics.get("hiddenSubscriberCount"):
        return None
    try:
        return _count(statistics, "subscriberCount")
    except BadResponseError:  # never fails the channel read (verification needs only the description)
        return None


def video_stats_from_item(item: dict[str, Any]) -> VideoStats:
    """A ``VideoStats`` from one ``videos.list`` item (``UnreadableAnswer`` with the raw
    item if malformed: no viewCount, or a value that is not a count)."""
    try:
        return _stats(item)
    except BadResponseError as exc:
        raise UnreadableAnswer(
            str(exc), raw=json.dumps(item, ensure_ascii=False, default=str), platform=PLATFORM
        ) from None


def _stats(item: dict[str, Any]) -> VideoStats:
    statistics = item.get("statistics")
    if not isinstance(statistics, dict) or statistics.get("viewCount") is None:
        raise BadResponseError(f"youtube: item {item.get('id')!r} has no viewCount", platform=PLATFORM)
    views = _count(statistics, "viewCount")
    if views is None:
        raise BadResponseError(f"youtube: item {item.get('id')!r} has no viewCount", platform=PLATFORM)
    snippet = item.get("snippet") or {}
    details = item.get("contentDetails") or {}
    return VideoStats(
        platform=PLATFORM,
        video_id=str(item["id"]),
        views=views,
        likes=_count(statistics, "likeCount"),
        comments=_count(statistics, "commentCount"),
        author=snippet.get("channelTitle"),
        author_id=snippet.get("channelId"),
        published_at=_parse_time(snippet.get("publishedAt")),
        duration_seconds=parse_duration(details.get("duration")),
        title=snippet.get("title"),
    )


def error_from_body(status: int, body: Any, retry_after: float | None = None) -> PlatformError:
    """Classify a Google API error answer (status + parsed JSON body)."""
    error = body.get("error") if isinstance(body, dict) else None
    error = error if isinstance(error, dict) else {}
    message = str(error.get("message") or f"HTTP {status}")
    reasons = {str(e.get("reason")) for e in error.get("errors") or [] if isinstance(e, dict)}
    reasons |= {str(d.get("reason")) for d in error.get("details") or [] if isinstance(d, dict)}
    if reasons & QUOTA_REASONS:
        return QuotaExceededError(f"youtube: quota exceeded: {message}")
    if status == 429 or status >= 500 or reasons & RATE_REASONS:
        return TransientError(
            f"youtube: HTTP {status}: {message}", platform=PLATFORM, status=status, retry_after=retry_after
        )
    if status == 400 or reasons & {"keyInvalid", "API_KEY_INVALID", "accessNotConfigured", "ipRefererBlocked"}:
        reason = "keyInvalid" if reasons & {"keyInvalid", "API_KEY_INVALID"} else next(iter(sorted(reasons)), None)
        return YouTubeConfigError(f"youtube: request refused ({reason}): {message}", reason=reason)
    if status == 403:
        return BlockedError(f"youtube: forbidden: {message}", platform=PLATFORM)
    return BadResponseError(f"youtube: unexpected HTTP {status}: {message}", platform=PLATFORM)


class YouTubeAdapter:
    """``PlatformAdapter`` for YouTube.

    :param api_key: the Data API v3 key (required).
    :param base_url: API base URL. Default ``https://www.googleapis.com/youtube/v3``.
    :param timeout: seconds per HTTP call. Default 10.
    :param concurrency: ``videos.list`` calls in flight at once. Default 4.
    :param retry: retry policy around each call. Default ``retrying.YOUTUBE``.
    :param session: an aiohttp session to use (not closed by ``close``); default: own.
    """

    platform = PLATFORM

    def __init__(
        self,
        *,
        api_key: str,
        base_url: str = DEFAULT_API_URL,
        timeout: float = 10.0,
        concurrency: int = 4,
        retry: RetryPolicy = YOUTUBE,
        session: aiohttp.ClientSession | None = None,
    ) -> None:
        if not api_key:
            raise YouTubeConfigError("youtube: YOUTUBE_API_KEY is not set", reason="keyMissing")
        self._api_key = api_key
        self._base_url = base_url.rstrip("/")
        self._timeout = aiohttp.ClientTimeout(total=timeout)
        self._semaphore = asyncio.Semaphore(concurrency)
        self._retry = retry
        self._session = OwnedSession(session=session, timeout=self._timeout)

    async def close(self) -> None:
        await self._session.close()

    async def fetch_many(self, video_ids: list[str]) -> dict[str, VideoResult]:
        """Stats per id; raises ``QuotaExceededError`` / ``BlockedError`` / ``YouTubeConfigError``."""
        unique = list(dict.fromkeys(v for v in video_ids if v))
        chunks = [unique[i : i + MAX_IDS_PER_CALL] for i in range(0, len(unique), MAX_IDS_PER_CALL)]
        results: dict[str, VideoResult] = {}
        outcomes = await asyncio.gather(*(self._fetch_chunk(chunk) for chunk in chunks), return_exceptions=True)
        for chunk, outcome in zip(chunks, outcomes, strict=True):
            if isinstance(outcome, (BlockedError, ConfigurationError)):
                raise outcome
            if isinstance(outcome, BaseException):
                if not isinstance(outcome, PlatformError):
                    raise outcome
                results.update({video_id: outcome for video_id in chunk})
            else:
                results.update(outcome)
        return results

    async def fetch_account(self, handle_or_id: str) -> AccountInfo:
        """The channel by ``UC...`` id or ``@handle``; ``PermanentError(NOT_FOUND)`` if none."""
        key = handle_or_id.strip()
        params = {"part": "snippet,statistics"}  # the same one quota unit as snippet alone
        if _CHANNEL_ID.match(key):
            params["id"] = key
        else:
            params["forHandle"] = "@" + key.lstrip("@")
        body = await self._retry.call(self._get, "channels", params, label="youtube channels.list")
        items = body.get("items") or []
        if not items:
            raise PermanentError(f"youtube: channel {key!r} not found", reason=NOT_FOUND, platform=PLATFORM)
        item = items[0]
        snippet = item.get("snippet") or {}
        custom_url = snippet.get("customUrl")
        return AccountInfo(
            platform=PLATFORM,
            external_id=str(item["id"]),
            handle=custom_url.lstrip("@") if isinstance(custom_url, str) and custom_url.startswith("@") else None,
            description=str(snippet.get("description") or ""),
            title=snippet.get("title"),
            followers=_subscribers(item.get("statistics") or {}),
            created_at=_parse_time(snippet.get("publishedAt")),
        )

    async def _fetch_chunk(self, chunk: list[str]) -> dict[str, VideoResult]:
        async with self._semaphore:
            params = {"part": "snippet,statistics,contentDetails", "id": ",".join(chunk), "maxResults": str(len(chunk))}
            body = await self._retry.call(self._get, "videos", params, label="youtube videos.list")
        items = body.get("items") or []
        if not isinstance(items, list):
            raise BadResponseError("youtube: items is not a list", platform=PLATFORM)
        results: dict[str, VideoResult] = {}
        for item in items:
            if not isinstance(item, dict) or "id" not in item:
                continue
            try:
                results[str(item["id"])] = video_stats_from_item(item)
            except BadResponseError as exc:
                results[str(item["id"])] = exc
        for video_id in chunk:
            if video_id not in results:
                results[video_id] = PermanentError(
                    f"youtube: video {video_id} not found, private or deleted", reason=NOT_FOUND, platform=PLATFORM
                )
        return results

    async def _get(self, resource: str, params: dict[str, str]) -> dict[str, Any]:
        session = await self._session.get()
        url = f"{self._base_url}/{resource}"
        try:
            async with session.get(url, params={**params, "key": self._api_key}, timeout=self._timeout) as response:
                raw = await read_limited(response, limit=MAX_API_BODY, platform=PLATFORM)
                status = response.status
                retryable = transient_from_status(response, platform=PLATFORM) if is_transient_status(status) else None
        except PlatformError:
            raise
        except TRANSPORT_ERRORS as exc:
            raise transient_from_exception(exc, platform=PLATFORM) from exc
        if status != 200:
            try:
                body = parse_json(raw, platform=PLATFORM)
            except BadResponseError:
                body = None
            if body is None and retryable is not None:
                raise retryable
            raise error_from_body(status, body, retryable.retry_after if retryable else None)
        body = parse_json(raw, platform=PLATFORM)
        if not isinstance(body, dict):
            raise BadResponseError("youtube: answer is not a JSON object", platform=PLATFORM)
        return body
