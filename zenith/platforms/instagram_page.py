"""Reading Instagram post pages and profile answers: the embedded JSON, never the visible text.

Current layout: ``<script type="application/json" data-sjs>`` blobs, one of which holds
(deep inside ``ScheduledServerJS`` / ``RelayPrefetchedStreamCache``) the key
``xdt_api__v1__media__shortcode__web_info`` with ``items[0]``: ``play_count`` (Reels
plays), ``like_count``, ``comment_count``, ``user``, ``caption``, ``taken_at``. Older
layout: ``window._sharedData`` (or ``window.__additionalDataLoaded(...)``) with
``graphql.shortcode_media``: ``video_play_count`` / ``video_view_count``. A page with
neither is a login wall or a challenge, which must never be read as "zero views",
unless it says the post or the account is gone or private.

Profiles come from ``/api/v1/users/web_profile_info/?username=``: ``data.user`` with
``biography`` (where the verification code goes), ``id``, ``username``, ``full_name``.
"""

from __future__ import annotations

import json
import re
from datetime import datetime, timezone
from typing import Any, Iterator

from zenith.platforms.base import AccountInfo, VideoStats
from zenith.platforms.errors import NOT_FOUND, PRIVATE, UNAVAILABLE, BadResponseError, BlockedError, PermanentError

PLATFORM = "instagram"
MEDIA_KEY = "xdt_api__v1__media__shortcode__web_info"
VIDEO_MEDIA_TYPE = 2  # 1 photo, 2 video (reels are videos with product_type "clips"), 8 carousel
LOGIN_MARKERS = (
    'id="loginform"',
    "/accounts/login/",
    "/challenge/",
    "checkpoint_required",
    "please wait a few minutes",
)
GONE_MARKERS = ("sorry, this page isn't available", "page not found • instagram", "the link you followed may be broken")
PRIVATE_MARKERS = ("this account is private",)

_SJS = re.compile(r"<script\b[^>]*\bdata-sjs\b[^>]*>(.*?)</script>", re.DOTALL)
_SHARED = re.compile(r"window\._sharedData\s*=\s*(\{.*?\});\s*</script>", re.DOTALL)
_ADDITIONAL = re.compile(r"window\.__additionalDataLoaded\(\s*'[^']*'\s*,\s*(\{.*?\})\s*\);\s*</script>", re.DOTALL)


def _loads(text: str, what: str) -> Any:
    try:
        return json.loads(text)
    except ValueError as exc:
        raise BadResponseError(f"instagram: {what} is not valid JSON ({exc})", platform=PLATFORM) from None


def _find_key(data: Any, key: str) -> Iterator[Any]:
    """Every value stored under ``key`` anywhere in ``data`` (the blobs nest arbitrarily)."""
    stack = [data]
    while stack:
        node = stack.pop()
        if isinstance(node, dict):
            for name, value in node.items():
                if name == key:
                    yield value
                else:
                    stack.append(value)
        elif isinstance(node, list):
            stack.extend(node)


def _int(value: Any) -> int | None:
    if value is None or value == "":
        return None
    if isinstance(value, bool):
        raise BadResponseError(f"instagram: {value!r} is not a count", platform=PLATFORM)
    try:
        number = int(value)
    except (TypeError, ValueError):
        raise BadResponseError(f"instagram: {value!r} is not a count", platform=PLATFORM) from None
    if number < 0:
        raise BadResponseError(f"instagram: negative count {number}", platform=PLATFORM)
    return number


def _seconds(value: Any) -> int | None:
    try:
        return round(float(value)) if value is not None else None
    except (TypeError, ValueError):
        return None


def _not_a_video(shortcode: str) -> PermanentError:
    return PermanentError(f"instagram: post {shortcode} is a photo, not a video", reason=UNAVAILABLE, platform=PLATFORM)


def _stats_from_item(item: dict[str, Any], shortcode: str) -> VideoStats:
    """Current layout: an ``items[0]`` of the media web info."""
    if _int(item.get("media_type")) not in (VIDEO_MEDIA_TYPE, None):
        raise _not_a_video(shortcode)
    views = _int(item.get("play_count"))
    if views is None:
        views = _int(item.get("ig_play_count"))
    if views is None:
        views = _int(item.get("view_count"))
    if views is None:
        raise BadResponseError(f"instagram: post {shortcode} has no play_count", platform=PLATFORM)
    user = item.get("user") or item.get("owner") or {}
    caption = item.get("caption") or {}
    taken_at = _int(item.get("taken_at"))
    return VideoStats(
        platform=PLATFORM,
        video_id=str(item.get("code") or shortcode),
        views=views,
        likes=_int(item.get("like_count")),
        comments=_int(item.get("comment_count")),
        author=user.get("username"),
        author_id=str(user.get("pk") or user.get("id") or "") or None,
        published_at=datetime.fromtimestamp(taken_at, timezone.utc) if taken_at else None,
        duration_seconds=_seconds(item.get("video_duration")),
        title=caption.get("text") if isinstance(caption, dict) else None,
    )


def _stats_from_shortcode_media(media: dict[str, Any], shortcode: str) -> VideoStats:
    """Older layout: ``graphql.shortcode_media``."""
    if not media.get("is_video"):
        raise _not_a_video(shortcode)
    views = _int(media.get("video_play_count"))
    if views is None:
        views = _int(media.get("video_view_count"))
    if views is None:
        raise BadResponseError(f"instagram: post {shortcode} has no video_view_count", platform=PLATFORM)
    owner = media.get("owner") or {}
    edges = (media.get("edge_media_to_caption") or {}).get("edges") or []
    likes = media.get("edge_media_preview_like") or media.get("edge_liked_by") or {}
    comments = media.get("edge_media_to_parent_comment") or media.get("edge_media_to_comment") or {}
    taken_at = _int(media.get("taken_at_timestamp"))
    return VideoStats(
        platform=PLATFORM,
        video_id=str(media.get("shortcode") or shortcode),
        views=views,
        likes=_int(likes.get("count")),
        comments=_int(comments.get("count")),
        author=owner.get("username"),
        author_id=str(owner.get("id") or "") or None,
        published_at=datetime.fromtimestamp(taken_at, timezone.utc) if taken_at else None,
        duration_seconds=_seconds(media.get("video_duration")),
        title=((edges[0] or {}).get("node") or {}).get("text") if edges else None,
    )


def _without_data(html: str, shortcode: str) -> PermanentError | BlockedError:
    """Why a page carries no media: gone, private, or a wall put up in front of us."""
    lowered = html[:300_000].replace("\\/", "/").lower()  # JSON blobs escape "/" as "\/"
    if any(marker in lowered for marker in GONE_MARKERS):
        return PermanentError(f"instagram: post {shortcode} not found", reason=NOT_FOUND, platform=PLATFORM)
    if any(marker in lowered for marker in PRIVATE_MARKERS):
        return PermanentError(f"instagram: post {shortcode} is on a private account", reason=PRIVATE, platform=PLATFORM)
    marker = next((m for m in LOGIN_MARKERS if m in lowered), None)
    return BlockedError(f"instagram: no data on the page ({marker or 'unknown block page'})", platform=PLATFORM)


def parse_post_page(html: str, shortcode: str) -> VideoStats:
    """Stats of the reel / video post ``shortcode`` from its page, or why there are none.

    Raises ``PermanentError`` (gone, private, a photo post), ``BlockedError`` (login wall,
    challenge: no data), ``BadResponseError`` (data present but malformed).
    """
    for blob in _SJS.findall(html):
        if MEDIA_KEY not in blob:
            continue
        for info in _find_key(_loads(blob, "data-sjs script"), MEDIA_KEY):
            if info is not None and not isinstance(info, dict):
                raise BadResponseError(f"instagram: {MEDIA_KEY} is a {type(info).__name__}", platform=PLATFORM)
            items = (info or {}).get("items")
            if not items:  # null or [] : Instagram knows no such post
                raise PermanentError(f"instagram: post {shortcode} not found", reason=NOT_FOUND, platform=PLATFORM)
            if not isinstance(items, list) or not isinstance(items[0], dict):
                raise BadResponseError(f"instagram: post {shortcode} items are not objects", platform=PLATFORM)
            return _stats_from_item(items[0], shortcode)
    for pattern, what in ((_SHARED, "_sharedData"), (_ADDITIONAL, "__additionalDataLoaded")):
        match = pattern.search(html)
        if match is None:
            continue
        data = _loads(match.group(1), what)
        for media in _find_key(data, "shortcode_media"):
            if isinstance(media, dict):
                return _stats_from_shortcode_media(media, shortcode)
        for items in _find_key(data, "items"):
            if isinstance(items, list) and items and isinstance(items[0], dict) and "code" in items[0]:
                return _stats_from_item(items[0], shortcode)
    raise _without_data(html, shortcode)


def _followers(edge: Any) -> int | None:
    """``edge_followed_by.count``; None when missing or unreadable (it never fails the bio read)."""
    try:
        return _int(edge.get("count")) if isinstance(edge, dict) else None
    except BadResponseError:
        return None


def parse_profile_info(body: Any, username: str) -> AccountInfo:
    """The account in a ``web_profile_info`` answer (bio in ``description``)."""
    if not isinstance(body, dict):
        raise BadResponseError(f"instagram: profile answer is a {type(body).__name__}", platform=PLATFORM)
    if body.get("require_login") or body.get("message") == "checkpoint_required":
        raise BlockedError(
            f"instagram: profile lookup asks to log in ({body.get('message') or 'require_login'})", platform=PLATFORM
        )
    user = (body.get("data") or {}).get("user") if isinstance(body.get("data"), dict) else None
    if user is None:
        raise PermanentError(f"instagram: account @{username} not found", reason=NOT_FOUND, platform=PLATFORM)
    if not isinstance(user, dict) or not user.get("id"):
        raise BadResponseError(f"instagram: account @{username} has no id", platform=PLATFORM)
    return AccountInfo(
        platform=PLATFORM,
        external_id=str(user["id"]),
        handle=str(user.get("username") or username).lower(),
        description=str(user.get("biography") or ""),
        title=user.get("full_name") or None,
        followers=_followers(user.get("edge_followed_by")),
    )
