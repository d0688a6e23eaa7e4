"""A local stand-in for Instagram's web (post pages, the profile endpoint, share links).

Post pages carry what the real ones do: several ``<script type="application/json"
data-sjs>`` blobs of Instagram's server-side JS, one of which nests (``ScheduledServerJS``
→ ``RelayPrefetchedStreamCache``) the ``xdt_api__v1__media__shortcode__web_info`` answer
with ``items[0]`` (``play_count``, ``like_count``, ``user``, ``caption``, ...); slashes
escaped as ``\\/`` like Instagram does. The older layout (``window._sharedData`` with
``graphql.shortcode_media``) is served per post. Scripted refusals: a redirect to the
login page, a page without data (the logged-out wall), HTTP 403, HTTP 429 with
Retry-After, a broken data blob. ``/share/...`` links redirect to the reel like
instagram.com does.

Usage::

    with run_fake_instagram() as ig:
        ig.state.add_reel("C8xYz1AbCdE", views=1234, author="creator")
        adapter = InstagramAdapter(base_url=ig.url)
"""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

from tests.fakes.server import FakeServer, run_in_thread, serve_in_loop

HEAD = (
    '<!DOCTYPE html><html class="_9dls" lang="en" dir="ltr"><head><meta charset="utf-8">'
    '<meta name="viewport" content="width=device-width, initial-scale=1, minimum-scale=1, maximum-scale=1, viewport-fit=cover">'
    '<link rel="manifest" href="/data/manifest.json" crossorigin="use-credentials"/>'
    "<title>{title}</title>"
    '<meta property="og:site_name" content="Instagram"/><meta property="og:type" content="video"/>'
    '<script type="application/json" data-content-len="312" data-sjs>{{"require":[["CometSSRMergedContentInjector","onPayloadReceived",null,'
    '[{{"__bbox":{{"require":[["PolarisSiteData","setData",[],[{{"country_code":"US","username_hint":null}}]]]}}}}]]]}}</script>'
    "</head><body>"
)
TAIL = (
    '<script type="application/json" data-content-len="98" data-sjs>{"require":[["ServerJSDefine","handleDefines",null,'
    '[[["InstagramSecurityConfig",[],{"csrf_token":"kUq8jz3JHyXD","is_logged_in":false},1905]]]]]}</script>'
    '<script src="https:\\/\\/static.cdninstagram.com\\/rsrc.php\\/v3iHv54\\/yq\\/l\\/en_US\\/ig.js" async></script>'
    "</body></html>"
)
LOGIN_PAGE = (
    '<!DOCTYPE html><html lang="en"><head><title>Login • Instagram</title></head><body>'
    '<form id="loginForm" method="post"><input name="username"><input name="password" type="password"></form>'
    "</body></html>"
)
WALL_PAGE = HEAD.format(title="Instagram") + '<div id="splash-screen"></div>' + TAIL
GONE_PAGE = (
    HEAD.format(title="Page not found • Instagram")
    + "<main><h2>Sorry, this page isn't available.</h2><div>The link you followed may be broken, or the page may have been removed.</div></main>"
    + TAIL
)
PRIVATE_PAGE = (
    HEAD.format(title="Instagram")
    + "<main><h2>This account is private</h2><div>Follow to see their photos and videos.</div></main>"
    + TAIL
)


@dataclass
class FakeReel:
    shortcode: str
    author: str = "creator"
    author_id: str = "51234567890"
    views: int = 0
    likes: int = 0
    comments: int = 0
    caption: str = "a reel"
    taken_at: int = 1_712_345_678
    duration: float = 14.933
    media_type: int = 2  # 1 photo, 2 video, 8 carousel
    status: str = "ok"  # "ok", "gone" (removed) or "private"
    layout: str = "current"  # or "legacy" (window._sharedData)


@dataclass
class FakeInstagramState:
    """What the fake serves; tests change it between calls (thread-safe)."""

    reels: dict[str, FakeReel] = field(default_factory=dict)
    users: dict[str, dict[str, Any]] = field(default_factory=dict)
    share_links: dict[str, str] = field(default_factory=dict)  # token -> shortcode
    public_base: str = "http://www.instagram.com"  # where share links point (scheme+host)
    block: str | None = None  # None, "login" (redirect), "wall" (no data) or "forbidden"
    retry_after: int | None = None  # if set: answer 429 with this Retry-After
    garbage: bool = False  # a data blob whose JSON is broken
    failures: list[tuple[int, int | None]] = field(default_factory=list)  # (status, Retry-After), one a request
    calls: list[tuple[str, str]] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def fail_next(self, status: int, *, times: int = 1, retry_after: int | None = None) -> None:
        """Answer the next ``times`` requests (any path) with ``status`` and nothing else."""
        with self.lock:
            self.failures.extend([(status, retry_after)] * times)

    def add_reel(self, shortcode: str, **fields: Any) -> FakeReel:
        with self.lock:
            reel = FakeReel(shortcode=shortcode, **fields)
            self.reels[shortcode] = reel
            return reel

    def set_views(self, shortcode: str, views: int) -> None:
        with self.lock:
            self.reels[shortcode].views = views

    def add_user(
        self,
        username: str,
        *,
        user_id: str = "51234567890",
        bio: str = "",
        full_name: str | None = None,
        followers: int = 1200,
    ) -> None:
        with self.lock:
            self.users[username] = {
                "id": user_id,
                "bio": bio,
                "full_name": full_name or username.title(),
                "followers": followers,
            }

    def add_share_link(self, token: str, shortcode: str) -> None:
        with self.lock:
            self.share_links[token] = shortcode


def _dumps(data: Any) -> str:
    # Instagram escapes "/" inside its JSON blobs, so they never close the <script> early.
    return json.dumps(data, ensure_ascii=False, separators=(",", ":")).replace("/", "\\/")


def _item(reel: FakeReel) -> dict[str, Any]:
    user = {
        "pk": reel.author_id,
        "id": reel.author_id,
        "username": reel.author,
        "full_name": reel.author.title(),
        "is_private": False,
        "is_verified": False,
        "profile_pic_url": f"https://scontent.cdninstagram.com/v/t51.2885-19/{reel.author_id}_n.jpg",
    }
    video = reel.media_type == 2
    return {
        "code": reel.shortcode,
        "pk": "3312345678901234567",
        "id": f"3312345678901234567_{reel.author_id}",
        "media_type": reel.media_type,
        "product_type": "clips" if video else "feed",
        "taken_at": reel.taken_at,
        "like_count": reel.likes,
        "comment_count": reel.comments,
        "play_count": reel.views if video else None,
        "ig_play_count": reel.views if video else None,
        "view_count": None,
        "video_duration": reel.duration if video else None,
        "caption": {"pk": "17900000000000000", "text": reel.caption, "created_at": reel.taken_at},
        "user": user,
        "owner": user,
        "has_audio": video,
        "video_versions": [
            {
                "type": 101,
                "width": 720,
                "height": 1280,
                "url": f"https://scontent.cdninstagram.com/o1/v/t16/f2/m86/{reel.shortcode}.mp4",
            }
        ]
        if video
        else None,
        "image_versions2": {
            "candidates": [
                {"width": 640, "height": 1136, "url": f"https://scontent.cdninstagram.com/{reel.shortcode}.jpg"}
            ]
        },
    }


def _current_page(reel: FakeReel | None, shortcode: str) -> str:
    items = [] if reel is None else [_item(reel)]
    relay = [
        "adp_PolarisPostRootQueryRelayPreloader_6633cbd3a3f1a2b4",
        {
            "__bbox": {
                "complete": True,
                "result": {
                    "data": {
                        "xdt_api__v1__media__shortcode__web_info": {
                            "items": items,
                            "num_results": len(items),
                            "more_available": False,
                        }
                    },
                    "extensions": {"is_final": True},
                },
                "sequence_number": 0,
            }
        },
    ]
    blob = {
        "require": [
            [
                "ScheduledServerJS",
                "handle",
                None,
                [{"__bbox": {"require": [["RelayPrefetchedStreamCache", "next", [], relay]], "define": []}}],
            ]
        ]
    }
    title = f"{reel.author} on Instagram: \u201c{reel.caption}\u201d" if reel else "Instagram"
    return (
        HEAD.format(title=title)
        + f'<script type="application/json" data-content-len="4096" data-sjs>{_dumps(blob)}</script>'
        + TAIL
    )


def _legacy_page(reel: FakeReel) -> str:
    video = reel.media_type == 2
    media = {
        "__typename": "GraphVideo" if video else "GraphImage",
        "id": "3312345678901234567",
        "shortcode": reel.shortcode,
        "is_video": video,
        "video_view_count": reel.views if video else None,
        "video_play_count": reel.views if video else None,
        "video_duration": reel.duration if video else None,
        "taken_at_timestamp": reel.taken_at,
        "edge_media_preview_like": {"count": reel.likes},
        "edge_media_to_parent_comment": {"count": reel.comments},
        "edge_media_to_caption": {"edges": [{"node": {"text": reel.caption}}]},
        "owner": {"id": reel.author_id, "username": reel.author, "is_private": False},
    }
    shared = {
        "config": {"csrf_token": "missing", "viewer": None},
        "country_code": "US",
        "entry_data": {"PostPage": [{"graphql": {"shortcode_media": media}}]},
    }
    return (
        HEAD.format(title="Instagram")
        + f'<script type="text/javascript">window._sharedData = {_dumps(shared)};</script>'
        + TAIL
    )


def build_app(state: FakeInstagramState) -> web.Application:
    """The aiohttp app serving ``state``."""

    def html(text: str, status: int = 200) -> web.Response:
        return web.Response(text=text, status=status, content_type="text/html", charset="utf-8")

    def refusal(request: web.Request) -> web.StreamResponse | None:
        if state.block == "forbidden":
            return web.json_response({"message": "", "require_login": True, "status": "fail"}, status=403)
        if state.block == "login":
            raise web.HTTPFound(location=f"/accounts/login/?next={request.path}")
        if state.retry_after is not None:
            return web.json_response(
                {"message": "Please wait a few minutes before you try again.", "status": "fail"},
                status=429,
                headers={"Retry-After": str(state.retry_after)},
            )
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

    async def post_page(request: web.Request) -> web.StreamResponse:
        answer = refusal(request)
        if answer is not None:
            return answer
        if state.block == "wall":
            return html(WALL_PAGE)
        shortcode = request.match_info["code"]
        with state.lock:
            reel = state.reels.get(shortcode)
        if state.garbage:
            return html(
                HEAD.format(title="Instagram")
                + '<script type="application/json" data-sjs>{"require":[["ScheduledServerJS","handle",null,[{"xdt_api__v1__media__shortcode__web_info":{"items":[{"code"'
                "</script>" + TAIL
            )
        if reel is not None and reel.status == "gone":
            return html(GONE_PAGE)
        if reel is not None and reel.status == "private":
            return html(PRIVATE_PAGE)
        if reel is not None and reel.layout == "legacy":
            return html(_legacy_page(reel))
        return html(_current_page(reel, shortcode))

    async def login_page(request: web.Request) -> web.StreamResponse:
        return html(LOGIN_PAGE)

    async def profile_info(request: web.Request) -> web.StreamResponse:
        answer = refusal(request)
        if answer is not None:
            return answer
        if request.headers.get("X-IG-App-ID") is None:
            return web.json_response({"message": "useragent mismatch", "status": "fail"}, status=400)
        username = request.query.get("username", "")
        with state.lock:
            user = state.users.get(username)
        if user is None:
            return web.json_response({"data": {"user": None}, "status": "ok"}, status=404)
        body = {
            "data": {
                "user": {
                    "biography": user["bio"],
                    "id": user["id"],
                    "username": username,
                    "full_name": user["full_name"],
                    "is_private": False,
                    "is_verified": False,
                    "edge_followed_by": {"count": user["followers"]},
                    "edge_follow": {"count": 10},
                    "edge_owner_to_timeline_media": {"count": 3, "edges": []},
                }
            },
            "status": "ok",
        }
        return web.json_response(body)

    async def share_link(request: web.Request) -> web.StreamResponse:
        token = request.match_info["token"]
        with state.lock:
            shortcode = state.share_links.get(token)
        if shortcode is None:
            return html(GONE_PAGE, status=404)
        raise web.HTTPFound(location=f"{state.public_base}/reel/{shortcode}/?igsh=MWQ1ZGUxMzBkMA%3D%3D")

    app = web.Application(middlewares=[record])
    for kind in ("p", "reel", "reels", "tv"):
        app.router.add_get(f"/{kind}/{{code}}/", post_page)
        app.router.add_get(f"/{kind}/{{code}}", post_page)
    app.router.add_get("/accounts/login/", login_page)
    app.router.add_get("/api/v1/users/web_profile_info/", profile_info)
    app.router.add_get("/share/{kind}/{token}/", share_link)
    app.router.add_get("/share/{token}/", share_link)
    return app


def run_fake_instagram(state: FakeInstagramState | None = None):
    """``with run_fake_instagram() as ig:`` — the fake in a background thread."""
    state = state or FakeInstagramState()
    return run_in_thread(build_app(state), state)


def serve_fake_instagram(state: FakeInstagramState | None = None):
    """``async with serve_fake_instagram() as ig:`` — the fake in the running loop."""
    state = state or FakeInstagramState()
    return serve_in_loop(build_app(state), state)


__all__ = ["FakeInstagramState", "FakeReel", "FakeServer", "build_app", "run_fake_instagram", "serve_fake_instagram"]
