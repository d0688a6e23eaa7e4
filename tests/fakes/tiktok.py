"""A local stand-in for TikTok's web pages (video pages, profiles, short links).

Pages carry the same embedded JSON as the real site: ``<script
id="__UNIVERSAL_DATA_FOR_REHYDRATION__">`` with ``__DEFAULT_SCOPE__["webapp.video-detail"]``
(current layout) or ``<script id="SIGI_STATE">`` with ``ItemModule`` (older layout),
slashes escaped as ``\\u002F`` like TikTok does. Scripted failures: block pages
(captcha, WAF JS challenge, HTTP 403), 429 with Retry-After, statusCode not found /
private, garbage. Short links ``/ZMxxxx/`` answer 301 to the video page, as
vm.tiktok.com does.

Usage::

    with run_fake_tiktok() as tt:
        tt.state.add_video("7300000000000000001", views=1234, author="creator")
        adapter = TikTokAdapter(base_url=tt.url)
"""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

from tests.fakes.server import FakeServer, run_in_thread, serve_in_loop

NOT_FOUND_STATUS = 10204
PRIVATE_STATUS = 10216

CAPTCHA_PAGE = """<!DOCTYPE html><html><head><title>Security Check</title></head>
<body><div id="tiktok-verify-ele" class="captcha_verify_container"></div>
<script src="https://sf16-website-login.neutral.ttwstatic.com/obj/tiktok_web_login_static/tiktok/webapp/main/webapp-desktop/captcha.js"></script>
</body></html>"""

CHALLENGE_PAGE = """<!DOCTYPE html><html><head><meta charset="utf-8"><title>Please wait...</title></head>
<body><script>window._wafchallengeid="eyJ2IjoxLCJ0b2tlbiI6ImZha2UifQ";</script>
<script src="/_wafchallenge/challenge.js"></script></body></html>"""


@dataclass
class FakeVideo:
    video_id: str
    author: str = "creator"
    author_id: str = "6800000000000000001"
    views: int = 0
    likes: int = 0
    comments: int = 0
    shares: int = 0
    create_time: int = 1_700_000_000
    duration: int = 15
    desc: str = "a video"
    status_code: int = 0  # 0 ok, 10204 not found, 10216 private
    layout: str = "universal"  # or "sigi"


@dataclass
class FakeTikTokState:
    """What the fake serves; tests change it between calls (thread-safe)."""

    videos: dict[str, FakeVideo] = field(default_factory=dict)
    users: dict[str, dict[str, Any]] = field(default_factory=dict)
    short_links: dict[str, str] = field(default_factory=dict)  # code -> video id
    redirects: dict[str, str] = field(default_factory=dict)  # path -> Location (safe-HTTP tests)
    public_base: str = "http://www.tiktok.com"  # where short links point (scheme+host)
    block: str | None = None  # None, "captcha", "challenge" or "forbidden"
    retry_after: int | None = None  # if set: answer 429 with this Retry-After
    garbage: bool = False  # a data script whose JSON is broken
    failures: list[tuple[int, int | None]] = field(default_factory=list)  # (status, Retry-After), one a request
    calls: list[tuple[str, str]] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def fail_next(self, status: int, *, times: int = 1, retry_after: int | None = None) -> None:
        """Answer the next ``times`` requests (any path) with ``status`` and nothing else."""
        with self.lock:
            self.failures.extend([(status, retry_after)] * times)

    def add_video(self, video_id: str, **fields: Any) -> FakeVideo:
        with self.lock:
            video = FakeVideo(video_id=video_id, **fields)
            self.videos[video_id] = video
            return video

    def set_views(self, video_id: str, views: int) -> None:
        with self.lock:
            self.videos[video_id].views = views

    def add_user(
        self,
        handle: str,
        *,
        user_id: str = "6800000000000000001",
        bio: str = "",
        nickname: str | None = None,
        status_code: int = 0,
        followers: int = 10,
    ) -> None:
        with self.lock:
            self.users[handle] = {
                "id": user_id,
                "bio": bio,
                "nickname": nickname or handle,
                "status_code": status_code,
                "followers": followers,
            }

    def add_short_link(self, code: str, video_id: str) -> None:
        with self.lock:
            self.short_links[code] = video_id


def _script(script_id: str, data: dict[str, Any]) -> str:
    # TikTok escapes "/" so the JSON can never close the <script> element early.
    text = json.dumps(data, ensure_ascii=False, separators=(",", ":")).replace("/", "\\u002F")
    return f'<script id="{script_id}" type="application/json">{text}</script>'


def _page(script: str, title: str) -> str:
    return (
        '<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">'
        f'<title>{title}</title></head><body><div id="app"></div>{script}'
        '<script src="https:\\/\\/sf16-website-login.neutral.ttwstatic.com/app.js"></script></body></html>'
    )


def _item_struct(video: FakeVideo) -> dict[str, Any]:
    return {
        "id": video.video_id,
        "desc": video.desc,
        "createTime": str(video.create_time),
        "video": {
            "id": video.video_id,
            "height": 1024,
            "width": 576,
            "duration": video.duration,
            "ratio": "540p",
            "cover": f"https://p16-sign.tiktokcdn-us.com/obj/{video.video_id}.jpeg",
        },
        "author": {
            "id": video.author_id,
            "uniqueId": video.author,
            "nickname": video.author.title(),
            "secUid": "MS4wLjABAAAA" + video.author_id,
            "privateAccount": False,
            "verified": False,
        },
        "music": {"id": "7000000000000000000", "title": "original sound"},
        "stats": {
            "diggCount": video.likes,
            "shareCount": video.shares,
            "commentCount": video.comments,
            "playCount": video.views,
            "collectCount": 0,
        },
        "statsV2": {
            "diggCount": str(video.likes),
            "shareCount": str(video.shares),
            "commentCount": str(video.comments),
            "playCount": str(video.views),
            "collectCount": "0",
            "repostCount": "0",
        },
        "isAd": False,
    }


def _universal_page(video: FakeVideo | None, video_id: str) -> str:
    if video is None or video.status_code:
        code = NOT_FOUND_STATUS if video is None else video.status_code
        message = "item doesn't exist" if code == NOT_FOUND_STATUS else "author_secret"
        detail: dict[str, Any] = {"statusCode": code, "statusMsg": message, "shareMeta": {}}
    else:
        detail = {
            "itemInfo": {"itemStruct": _item_struct(video)},
            "shareMeta": {"title": video.author},
            "statusCode": 0,
            "statusMsg": "",
        }
    scope = {"webapp.app-context": {"language": "en", "region": "US"}, "webapp.video-detail": detail}
    return _page(_script("__UNIVERSAL_DATA_FOR_REHYDRATION__", {"__DEFAULT_SCOPE__": scope}), "TikTok - Make Your Day")


def _sigi_page(video: FakeVideo) -> str:
    item = _item_struct(video)
    item["author"] = video.author  # the old layout keeps the handle here, the id beside it
    item["authorId"] = video.author_id
    state = {
        "AppContext": {"appContext": {"language": "en"}},
        "ItemModule": {video.video_id: item} if not video.status_code else {},
        "UserModule": {"users": {video.author: {"id": video.author_id, "uniqueId": video.author}}},
        "VideoPage": {"statusCode": video.status_code},
    }
    return _page(_script("SIGI_STATE", state), "TikTok - Make Your Day")


def _profile_page(handle: str, user: dict[str, Any] | None) -> str:
    if user is None or user["status_code"]:
        detail: dict[str, Any] = {
            "statusCode": 10221 if user is None else user["status_code"],
            "statusMsg": "user doesn't exist",
        }
    else:
        detail = {
            "userInfo": {
                "user": {
                    "id": user["id"],
                    "uniqueId": handle,
                    "nickname": user["nickname"],
                    "signature": user["bio"],
                    "secUid": "MS4wLjABAAAA" + user["id"],
                    "privateAccount": False,
                    "verified": False,
                },
                "stats": {"followerCount": user["followers"], "followingCount": 1, "heartCount": 100, "videoCount": 3},
                # TikTok sends the same counts again as strings
                "statsV2": {"followerCount": str(user["followers"]), "followingCount": "1", "heartCount": "100"},
            },
            "statusCode": 0,
            "statusMsg": "",
        }
    scope = {"webapp.app-context": {"language": "en"}, "webapp.user-detail": detail}
    return _page(_script("__UNIVERSAL_DATA_FOR_REHYDRATION__", {"__DEFAULT_SCOPE__": scope}), f"{handle} | TikTok")


def build_app(state: FakeTikTokState) -> web.Application:
    """The aiohttp app serving ``state``."""

    def html(text: str, status: int = 200) -> web.Response:
        return web.Response(text=text, status=status, content_type="text/html", charset="utf-8")

    def refusal() -> web.Response | None:
        if state.block == "forbidden":
            return html("<html><body><h1>Access Denied</h1></body></html>", status=403)
        if state.block == "captcha":
            return html(CAPTCHA_PAGE)
        if state.block == "challenge":
            return html(CHALLENGE_PAGE)
        if state.retry_after is not None:
            return web.Response(status=429, headers={"Retry-After": str(state.retry_after)}, text="Too Many Requests")
        return None

    @web.middleware
    async def record(request: web.Request, handler: Any) -> web.StreamResponse:
        state.calls.append((request.method, request.path_qs))
        with state.lock:
            failure = state.failures.pop(0) if state.failures else None
        if failure is not None:
            status, retry_after = failure
            headers = {"Retry-After": str(retry_after)} if retry_after is not None else {}
            return web.Response(status=status, headers=headers, text=f"scripted HTTP {status}")
        return await handler(request)

    async def video_page(request: web.Request) -> web.StreamResponse:
        answer = refusal()
        if answer is not None:
            return answer
        video_id = request.match_info["video_id"]
        with state.lock:
            video = state.videos.get(video_id)
        if state.garbage:
            return html(
                _page(
                    '<script id="__UNIVERSAL_DATA_FOR_REHYDRATION__" type="application/json">{"__DEFAULT_SCOPE__":{"webapp.vid',
                    "TikTok",
                )
            )
        if video is not None and video.layout == "sigi":
            return html(_sigi_page(video))
        return html(_universal_page(video, video_id))

    async def profile_page(request: web.Request) -> web.StreamResponse:
        answer = refusal()
        if answer is not None:
            return answer
        handle = request.match_info["handle"]
        with state.lock:
            user = state.users.get(handle)
        return html(_profile_page(handle, user))

    async def short_link(request: web.Request) -> web.StreamResponse:
        path = request.path
        if path in state.redirects:
            raise web.HTTPFound(location=state.redirects[path])
        code = request.match_info["code"]
        with state.lock:
            video_id = state.short_links.get(code)
            video = state.videos.get(video_id) if video_id else None
        if video is None:
            return html("<html><body>Not found</body></html>", status=404)
        location = f"{state.public_base}/@{video.author}/video/{video.video_id}?_r=1&_t=8kLbc3hJx2"
        raise web.HTTPMovedPermanently(location=location)

    app = web.Application(middlewares=[record])
    app.router.add_get("/@{handle}/video/{video_id}", video_page)
    app.router.add_get("/@{handle}", profile_page)
    app.router.add_get("/{code:[^@/][^/]*}", short_link)
    app.router.add_get("/{code:[^@/][^/]*}/", short_link)
    app.router.add_get("/t/{code}", short_link)  # tiktok.com/t/CODE short links
    app.router.add_get("/t/{code}/", short_link)
    return app


def run_fake_tiktok(state: FakeTikTokState | None = None):
    """``with run_fake_tiktok() as tt:`` — the fake in a background thread."""
    state = state or FakeTikTokState()
    return run_in_thread(build_app(state), state)


def serve_fake_tiktok(state: FakeTikTokState | None = None):
    """``async with serve_fake_tiktok() as tt:`` — the fake in the running loop."""
    state = state or FakeTikTokState()
    return serve_in_loop(build_app(state), state)


__all__ = ["FakeServer", "FakeTikTokState", "FakeVideo", "build_app", "run_fake_tiktok", "serve_fake_tiktok"]
