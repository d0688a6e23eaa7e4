"""A local stand-in for the YouTube Data API v3 (``videos.list``, ``channels.list``).

Answers with the real payload shapes: counts as strings, ``likeCount`` left out when
likes are hidden, unknown/private ids simply missing from ``items``, Google's JSON
error body for quota (403 quotaExceeded), bad key (400 API_KEY_INVALID), 500, 429
with Retry-After, and a garbage body on request. Counts every call and the ids asked.

Usage::

    with run_fake_youtube() as yt:
        yt.state.add_video("dQw4w9WgXcQ", views=1000)
        adapter = YouTubeAdapter(api_key=yt.state.api_key, base_url=yt.url + "/youtube/v3")
"""

from __future__ import annotations

import asyncio
import json
import threading
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

from tests.fakes.server import FakeServer, run_in_thread, serve_in_loop

API_PATH = "/youtube/v3"


@dataclass
class FakeYouTubeVideo:
    video_id: str
    views: int = 0
    likes: int | None = 0  # None: the owner hid the like count
    comments: int | None = 0  # None: comments are disabled
    title: str = "A video"
    channel_id: str = "UCuAXFkgsw1L7xaCfnd5JJOw"
    channel_title: str = "Creator"
    published_at: str = "2024-03-01T12:00:00Z"
    duration: str = "PT1M30S"
    statistics: dict[str, Any] | None = None  # served as is instead of the counts above (poisoned answers)


@dataclass
class FakeYouTubeState:
    """What the fake serves; tests change it between calls (thread-safe).

    ``failures`` is a queue consumed one per request: ``"quota"``, ``"500"``,
    ``"429"`` (with ``retry_after``), ``"garbage"``, ``"key_invalid"``, ``"rate_limit"``,
    ``"empty"`` (200 with ``"items": []``), ``"no_id"`` (200, the items without ``"id"``).
    """

    api_key: str = "fake-youtube-key"
    videos: dict[str, FakeYouTubeVideo] = field(default_factory=dict)
    channels: dict[str, dict[str, Any]] = field(default_factory=dict)
    failures: list[str] = field(default_factory=list)
    retry_after: int = 2
    response_delay: float = 0.0  # seconds each videos.list call takes (work piles up in flight)
    calls: list[dict[str, Any]] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def add_video(self, video_id: str, **fields: Any) -> FakeYouTubeVideo:
        with self.lock:
            video = FakeYouTubeVideo(video_id=video_id, **fields)
            self.videos[video_id] = video
            return video

    def set_views(self, video_id: str, views: int) -> None:
        with self.lock:
            self.videos[video_id].views = views

    def add_channel(
        self,
        channel_id: str,
        *,
        handle: str,
        title: str = "Creator",
        description: str = "",
        published_at: str = "2015-06-01T10:00:00Z",
        subscribers: int = 1_230,
        hidden_subscribers: bool = False,
    ) -> None:
        with self.lock:
            self.channels[channel_id] = {
                "handle": handle.lstrip("@"),
                "title": title,
                "description": description,
                "published_at": published_at,
                "subscribers": subscribers,
                "hidden_subscribers": hidden_subscribers,
            }

    def fail_next(self, kind: str, times: int = 1) -> None:
        with self.lock:
            self.failures.extend([kind] * times)

    def ids_per_call(self, path: str = "videos") -> list[list[str]]:
        return [c["ids"] for c in self.calls if c["path"] == path]


def google_error(
    status: int, message: str, reason: str, domain: str = "global", *, extra: dict[str, Any] | None = None
) -> web.Response:
    error: dict[str, Any] = {
        "code": status,
        "message": message,
        "errors": [{"message": message, "domain": domain, "reason": reason}],
    }
    error.update(extra or {})
    return web.json_response({"error": error}, status=status)


def _scripted_failure(state: FakeYouTubeState) -> web.Response | None:
    with state.lock:
        kind = state.failures.pop(0) if state.failures else None
    if kind is None:
        return None
    if kind == "quota":
        return google_error(
            403,
            'The request cannot be completed because you have exceeded your <a href="/youtube/v3/getting-started#quota">quota</a>.',
            "quotaExceeded",
            "youtube.quota",
        )
    if kind == "rate_limit":
        return google_error(403, "The request rate is too high.", "rateLimitExceeded", "youtube.quota")
    if kind == "500":
        return google_error(500, "Internal error encountered.", "backendError", extra={"status": "INTERNAL"})
    if kind == "429":
        response = google_error(
            429, "Resource has been exhausted.", "rateLimitExceeded", extra={"status": "RESOURCE_EXHAUSTED"}
        )
        response.headers["Retry-After"] = str(state.retry_after)
        return response
    if kind == "garbage":
        return web.Response(status=200, text="<html><body>502 Bad Gateway</body>", content_type="text/html")
    if kind == "key_invalid":
        return _key_invalid()
    if kind == "empty":
        return web.json_response(
            {
                "kind": "youtube#videoListResponse",
                "etag": "list-etag",
                "items": [],
                "pageInfo": {"totalResults": 0, "resultsPerPage": 0},
            }
        )
    if kind == "no_id":
        return NO_ID
    raise ValueError(f"unknown scripted failure {kind!r}")


def _key_invalid() -> web.Response:
    message = "API key not valid. Please pass a valid API key."
    details = [
        {
            "@type": "type.googleapis.com/google.rpc.ErrorInfo",
            "reason": "API_KEY_INVALID",
            "domain": "googleapis.com",
            "metadata": {"service": "youtube.googleapis.com"},
        }
    ]
    return google_error(400, message, "badRequest", extra={"status": "INVALID_ARGUMENT", "details": details})


# _scripted_failure's answer for "no_id": serve the items, each without its "id"
NO_ID = web.Response(status=204)


def _video_item(video: FakeYouTubeVideo) -> dict[str, Any]:
    statistics: dict[str, Any] = {"viewCount": str(video.views), "favoriteCount": "0"}
    if video.likes is not None:
        statistics["likeCount"] = str(video.likes)
    if video.comments is not None:
        statistics["commentCount"] = str(video.comments)
    if video.statistics is not None:
        statistics = dict(video.statistics)
    return {
        "kind": "youtube#video",
        "etag": f"etag-{video.video_id}",
        "id": video.video_id,
        "snippet": {
            "publishedAt": video.published_at,
            "channelId": video.channel_id,
            "title": video.title,
            "description": "",
            "thumbnails": {
                "default": {"url": f"https://i.ytimg.com/vi/{video.video_id}/default.jpg", "width": 120, "height": 90}
            },
            "channelTitle": video.channel_title,
            "categoryId": "22",
            "liveBroadcastContent": "none",
            "localized": {"title": video.title, "description": ""},
        },
        "contentDetails": {
            "duration": video.duration,
            "dimension": "2d",
            "definition": "hd",
            "caption": "false",
            "licensedContent": False,
            "contentRating": {},
            "projection": "rectangular",
        },
        "statistics": statistics,
    }


def _channel_item(channel_id: str, channel: dict[str, Any]) -> dict[str, Any]:
    """A channels.list item with every part; the caller keeps the parts asked for."""
    statistics: dict[str, Any] = {"viewCount": "123456", "hiddenSubscriberCount": channel["hidden_subscribers"]}
    if not channel["hidden_subscribers"]:  # a hidden count is left out, as the real API does
        statistics["subscriberCount"] = str(channel["subscribers"])
    statistics["videoCount"] = "42"
    return {
        "kind": "youtube#channel",
        "etag": f"etag-{channel_id}",
        "id": channel_id,
        "snippet": {
            "title": channel["title"],
            "description": channel["description"],
            "customUrl": f"@{channel['handle'].lower()}",
            "publishedAt": channel["published_at"],
            "localized": {"title": channel["title"], "description": channel["description"]},
        },
        "statistics": statistics,
    }


def build_app(state: FakeYouTubeState) -> web.Application:
    """The aiohttp app serving ``state``."""

    def precheck(request: web.Request, path: str, ids: list[str]) -> web.Response | None:
        state.calls.append({"path": path, "ids": ids, "params": dict(request.query)})
        if request.query.get("key") != state.api_key:
            return _key_invalid()
        return _scripted_failure(state)

    async def videos(request: web.Request) -> web.Response:
        ids = [i for i in request.query.get("id", "").split(",") if i]
        failure = precheck(request, "videos", ids)
        if failure is not None and failure is not NO_ID:
            return failure
        if state.response_delay:
            await asyncio.sleep(state.response_delay)
        if len(ids) > 50:
            return google_error(
                400, "The request specifies an invalid filter parameter.", "invalidFilters", "youtube.parameter"
            )
        parts = set(request.query.get("part", "").split(","))
        items = []
        with state.lock:
            for video_id in ids:
                video = state.videos.get(video_id)
                if video is None:
                    continue  # the real API leaves out unknown, private and deleted ids
                item = _video_item(video)
                items.append(
                    {
                        k: v
                        for k, v in item.items()
                        if (k in {"kind", "etag", "id"} or k in parts) and not (failure is NO_ID and k == "id")
                    }
                )
        return web.json_response(
            {
                "kind": "youtube#videoListResponse",
                "etag": "list-etag",
                "items": items,
                "pageInfo": {"totalResults": len(items), "resultsPerPage": len(items)},
            }
        )

    async def channels(request: web.Request) -> web.Response:
        wanted_id = request.query.get("id")
        handle = request.query.get("forHandle", "").lstrip("@").lower()
        failure = precheck(request, "channels", [wanted_id or f"@{handle}"])
        if failure is not None:
            return failure
        with state.lock:
            found = [
                (cid, ch)
                for cid, ch in state.channels.items()
                if cid == wanted_id or (handle and ch["handle"].lower() == handle)
            ]
        body: dict[str, Any] = {
            "kind": "youtube#channelListResponse",
            "etag": "ch-etag",
            "pageInfo": {"totalResults": len(found), "resultsPerPage": 5},
        }
        if found:  # like the real API, "items" is left out entirely when nothing matched
            parts = set(request.query.get("part", "").split(","))
            body["items"] = [
                {k: v for k, v in _channel_item(cid, ch).items() if k in {"kind", "etag", "id"} or k in parts}
                for cid, ch in found
            ]
        return web.Response(text=json.dumps(body), content_type="application/json", charset="UTF-8")

    app = web.Application()
    app.router.add_get(f"{API_PATH}/videos", videos)
    app.router.add_get(f"{API_PATH}/channels", channels)
    return app


def run_fake_youtube(state: FakeYouTubeState | None = None):
    """``with run_fake_youtube() as yt:`` — the fake in a background thread; API base is ``yt.url + "/youtube/v3"``."""
    state = state or FakeYouTubeState()
    return run_in_thread(build_app(state), state)


def serve_fake_youtube(state: FakeYouTubeState | None = None):
    """``async with serve_fake_youtube() as yt:`` — the fake in the running loop."""
    state = state or FakeYouTubeState()
    return serve_in_loop(build_app(state), state)


__all__ = [
    "API_PATH",
    "FakeServer",
    "FakeYouTubeState",
    "FakeYouTubeVideo",
    "build_app",
    "run_fake_youtube",
    "serve_fake_youtube",
]
