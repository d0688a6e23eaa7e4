"""Reading TikTok web pages: the embedded JSON, never the visible text.

Current layout: ``<script id="__UNIVERSAL_DATA_FOR_REHYDRATION__">`` whose
``__DEFAULT_SCOPE__["webapp.video-detail"]`` holds ``itemInfo.itemStruct`` and a
``statusCode``; profiles carry ``webapp.user-detail``. Older layout: ``<script
id="SIGI_STATE">`` with ``ItemModule[id]``. A page with neither script is a block
page (captcha / WAF challenge), which must never be read as "zero views".
"""

from __future__ import annotations

import json
import re
from datetime import datetime, timezone
from typing import Any

from zenith.platforms.base import AccountInfo, VideoStats
from zenith.platforms.counts import parse_count
from zenith.platforms.errors import (
    DELETED,
    NOT_FOUND,
    PRIVATE,
    UNAVAILABLE,
    BadResponseError,
    BlockedError,
    PermanentError,
    UnreadableAnswer,
)

PLATFORM = "tiktok"
UNIVERSAL_ID = "__UNIVERSAL_DATA_FOR_REHYDRATION__"
SIGI_ID = "SIGI_STATE"
# statusCode -> reason; codes seen on real pages (10204 item gone, 10216/10222 private).
STATUS_REASONS = {10204: NOT_FOUND, 10216: PRIVATE, 10222: PRIVATE, 10217: DELETED, 10221: NOT_FOUND, 10202: NOT_FOUND}
CHALLENGE_MARKERS = (
    "captcha",
    "tiktok-verify",
    "verify-ele",
    "_wafchallengeid",
    "<title>please wait...</title>",
    "access denied",
)


def _script_json(html: str, script_id: str) -> Any | None:
    """The parsed JSON of ``<script id=script_id>``, None when the script is absent."""
    match = re.search(rf'<script[^>]*\bid="{re.escape(script_id)}"[^>]*>(.*?)</script>', html, re.DOTALL)
    if match is None:
        return None
    try:
        return json.loads(match.group(1))
    except ValueError as exc:
        raise BadResponseError(f"tiktok: {script_id} is not valid JSON ({exc})", platform=PLATFORM) from None


def blocked_reason(html: str) -> str | None:
    """Which challenge marker the page shows, or None."""
    lowered = html[:200_000].lower()
    return next((marker for marker in CHALLENGE_MARKERS if marker in lowered), None)


def _int(value: Any) -> int | None:
    if value is None or value == "":
        return None
    if isinstance(value, float) and not value.is_integer():  # int() would drop the fraction unseen
        raise BadResponseError(f"tiktok: {value!r} is not a whole count", platform=PLATFORM)
    try:
        return int(value)
    except (TypeError, ValueError):
        raise BadResponseError(f"tiktok: {value!r} is not a count", platform=PLATFORM) from None


def _status_error(status: int, message: str, what: str) -> PermanentError:
    reason = STATUS_REASONS.get(status, UNAVAILABLE)
    return PermanentError(
        f"tiktok: {what} unavailable (statusCode {status} {message})".strip(), reason=reason, platform=PLATFORM
    )


def _count(stats: dict[str, Any], stats_v2: dict[str, Any], key: str) -> int | None:
    return parse_count(stats.get(key, stats_v2.get(key)), what=key, platform=PLATFORM)


def _stats_from_item(item: dict[str, Any], video_id: str) -> VideoStats:
    """Stats from the page's item; ``UnreadableAnswer`` with the item's counts if malformed."""
    found, found_v2 = item.get("stats"), item.get("statsV2")
    stats = found if isinstance(found, dict) else {}
    stats_v2 = found_v2 if isinstance(found_v2, dict) else {}
    try:
        views = _count(stats, stats_v2, "playCount")
        if views is None:
            raise BadResponseError(f"tiktok: video {video_id} has no playCount", platform=PLATFORM)
        likes, comments = _count(stats, stats_v2, "diggCount"), _count(stats, stats_v2, "commentCount")
    except BadResponseError as exc:
        raw = json.dumps({"id": item.get("id"), "stats": stats, "statsV2": stats_v2}, ensure_ascii=False, default=str)
        raise UnreadableAnswer(str(exc), raw=raw, platform=PLATFORM) from None
    author = item.get("author")
    if isinstance(author, dict):  # current layout: an object
        handle, author_id = author.get("uniqueId"), author.get("id")
    else:  # SIGI layout: the handle as a string, the id beside it
        handle, author_id = author, item.get("authorId")
    created = _int(item.get("createTime"))
    return VideoStats(
        platform=PLATFORM,
        video_id=str(item.get("id") or video_id),
        views=views,
        likes=likes,
        comments=comments,
        author=handle,
        author_id=str(author_id) if author_id else None,
        published_at=datetime.fromtimestamp(created, timezone.utc) if created else None,
        duration_seconds=_int((item.get("video") or {}).get("duration")),
        title=item.get("desc"),
    )


def parse_video_page(html: str, video_id: str) -> VideoStats:
    """Stats of ``video_id`` from its page, or the classified reason there are none.

    Raises ``PermanentError`` (statusCode), ``BlockedError`` (no data: block page),
    ``BadResponseError`` (data present but malformed).
    """
    universal = _script_json(html, UNIVERSAL_ID)
    if universal is not None:
        detail = (universal.get("__DEFAULT_SCOPE__") or {}).get("webapp.video-detail")
        if not isinstance(detail, dict):
            raise BlockedError("tiktok: page has no video-detail data", platform=PLATFORM)
        status = _int(detail.get("statusCode")) or 0
        if status:
            raise _status_error(status, str(detail.get("statusMsg") or ""), f"video {video_id}")
        item = (detail.get("itemInfo") or {}).get("itemStruct")
        if not isinstance(item, dict):
            raise BadResponseError(f"tiktok: video {video_id} has no itemStruct", platform=PLATFORM)
        return _stats_from_item(item, video_id)
    sigi = _script_json(html, SIGI_ID)
    if sigi is not None:
        status = _int((sigi.get("VideoPage") or {}).get("statusCode")) or 0
        if status:
            raise _status_error(status, "", f"video {video_id}")
        item = (sigi.get("ItemModule") or {}).get(video_id)
        if not isinstance(item, dict):
            raise PermanentError(f"tiktok: video {video_id} not in ItemModule", reason=NOT_FOUND, platform=PLATFORM)
        return _stats_from_item(item, video_id)
    marker = blocked_reason(html)
    raise BlockedError(f"tiktok: no data on the page ({marker or 'unknown block page'})", platform=PLATFORM)


def _followers(stats: Any) -> int | None:
    """``stats.followerCount``; None when missing or unreadable (it never fails the bio read)."""
    try:
        count = _int(stats.get("followerCount")) if isinstance(stats, dict) else None
    except BadResponseError:
        return None
    return count if count is None or count >= 0 else None


def parse_profile_page(html: str, handle: str) -> AccountInfo:
    """The account on a profile page (bio in ``description``); same errors as videos."""
    universal = _script_json(html, UNIVERSAL_ID)
    if universal is not None:
        detail = (universal.get("__DEFAULT_SCOPE__") or {}).get("webapp.user-detail")
        if not isinstance(detail, dict):
            raise BlockedError("tiktok: page has no user-detail data", platform=PLATFORM)
        status = _int(detail.get("statusCode")) or 0
        user = ((detail.get("userInfo") or {}).get("user")) if not status else None
        if not isinstance(user, dict):
            raise _status_error(status or 10221, str(detail.get("statusMsg") or ""), f"account @{handle}")
        stats = (detail.get("userInfo") or {}).get("stats")
    else:
        sigi = _script_json(html, SIGI_ID)
        if sigi is None:
            raise BlockedError(
                f"tiktok: no data on the page ({blocked_reason(html) or 'unknown block page'})", platform=PLATFORM
            )
        users = (sigi.get("UserModule") or {}).get("users") or {}
        user = users.get(handle) or next(
            (u for u in users.values() if str(u.get("uniqueId", "")).lower() == handle.lower()), None
        )
        if not isinstance(user, dict):
            raise PermanentError(f"tiktok: account @{handle} not found", reason=NOT_FOUND, platform=PLATFORM)
        stats = ((sigi.get("UserModule") or {}).get("stats") or {}).get(user.get("uniqueId") or handle)
    return AccountInfo(
        platform=PLATFORM,
        external_id=str(user.get("id") or ""),
        handle=user.get("uniqueId") or handle,
        description=str(user.get("signature") or ""),
        title=user.get("nickname"),
        followers=_followers(stats),
    )
