"""Video links: from whatever a creator pastes to a platform, a video id and a canonical URL.

Pure string rules, no network. Links that only a redirect can explain (TikTok short
links, Instagram share links) come back with ``needs_resolving=True``; the submission actor resolves them with
the safe HTTP client and parses the final URL again.

Hosts are matched exactly against an allowlist after a strict split of the authority, so
lookalikes (``youtube.com.evil.com``, ``evil-youtube.com``, punycode, unicode
confusables), credentials (``user@host``) and explicit ports never pass.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from enum import StrEnum
from urllib.parse import parse_qsl

__all__ = [
    "MAX_LINK_LENGTH",
    "MAX_LINKS_PER_MESSAGE",
    "LinkRejectReason",
    "LinkRejected",
    "ParsedLink",
    "Platform",
    "canonical_video_url",
    "extract_links",
    "with_author",
    "is_valid_video_id",
    "parse_link",
]

MAX_LINK_LENGTH = 2048
MAX_LINKS_PER_MESSAGE = 10


class Platform(StrEnum):
    YOUTUBE = "youtube"
    TIKTOK = "tiktok"
    INSTAGRAM = "instagram"


class LinkRejectReason(StrEnum):
    EMPTY = "empty"
    TOO_LONG = "too_long"
    NOT_A_URL = "not_a_url"
    BAD_SCHEME = "bad_scheme"
    USERINFO = "userinfo"
    PORT = "port"
    UNSUPPORTED_HOST = "unsupported_host"
    NOT_A_VIDEO = "not_a_video"
    BAD_VIDEO_ID = "bad_video_id"
    PHOTO_POST = "photo_post"  # a TikTok photo post (slideshow) while they are not paid for


class LinkRejected(ValueError):
    """The text is not a link to a supported video; ``reason`` says why (a `LinkRejectReason`)."""

    def __init__(self, reason: LinkRejectReason, detail: str = "") -> None:
        self.reason = reason
        self.detail = detail
        super().__init__(f"{reason.value}: {detail}" if detail else reason.value)


@dataclass(frozen=True)
class ParsedLink:
    """A link that names one video (or a short link that must be resolved first).

    ``video_id`` is None exactly when ``needs_resolving`` is True; ``canonical_url`` is
    always https. ``author_handle`` is the TikTok ``@handle`` or Instagram username from
    the path (lower case, without ``@``) when the link carries one; YouTube links never do. ``photo_post`` marks
    a TikTok photo post (``/@user/photo/ID``), accepted only when they are paid for.
    """

    platform: Platform
    video_id: str | None
    canonical_url: str
    needs_resolving: bool
    author_handle: str | None
    photo_post: bool = False

    @property
    def resolved_id(self) -> str:
        """``video_id`` of a link that names its video; ValueError for a short link not resolved yet."""
        if self.video_id is None:
            raise ValueError(f"{self.canonical_url} must be resolved first")
        return self.video_id


_YOUTUBE_ID = re.compile(r"[A-Za-z0-9_-]{11}")
_TIKTOK_ID = re.compile(r"[0-9]{15,25}")
_TIKTOK_HANDLE = re.compile(r"[A-Za-z0-9._]{0,64}")
_TIKTOK_SHORT_CODE = re.compile(r"[A-Za-z0-9_-]{4,32}")
# Instagram shortcodes are base64url; public posts have 11 characters, posts of private
# accounts ~39, posts from before 2016 fewer than 11.
_INSTAGRAM_ID = re.compile(r"[A-Za-z0-9_-]{5,48}")
_INSTAGRAM_HANDLE = re.compile(r"[A-Za-z0-9._]{1,30}")
_SCHEME = re.compile(r"([A-Za-z][A-Za-z0-9+.\-]*):")
_HOST_CHARS = re.compile(r"[a-z0-9.-]+")

_YOUTUBE_HOSTS = frozenset({"youtube.com", "www.youtube.com", "m.youtube.com", "music.youtube.com"})
_YOUTUBE_SHORT_HOSTS = frozenset({"youtu.be"})
_YOUTUBE_NOCOOKIE_HOSTS = frozenset({"youtube-nocookie.com", "www.youtube-nocookie.com"})
_TIKTOK_HOSTS = frozenset({"tiktok.com", "www.tiktok.com", "m.tiktok.com"})
_TIKTOK_SHORT_HOSTS = frozenset({"vm.tiktok.com", "vt.tiktok.com"})
_INSTAGRAM_HOSTS = frozenset({"instagram.com", "www.instagram.com", "m.instagram.com", "instagr.am", "www.instagr.am"})
_SUPPORTED_HOSTS = (
    _YOUTUBE_HOSTS
    | _YOUTUBE_SHORT_HOSTS
    | _YOUTUBE_NOCOOKIE_HOSTS
    | _TIKTOK_HOSTS
    | _TIKTOK_SHORT_HOSTS
    | _INSTAGRAM_HOSTS
)
# /<kind>/<shortcode> on instagram.com: a reel, a post, an old IGTV video
_INSTAGRAM_MEDIA_PATHS = frozenset({"reel", "reels", "p", "tv"})
# what may follow the shortcode: the embed page of the same post
_INSTAGRAM_SUFFIXES = ((), ("embed",), ("embed", "captioned"))
# first path segments that are Instagram pages, never a username
_INSTAGRAM_RESERVED = frozenset(
    {"stories", "explore", "accounts", "direct", "about", "developer", "legal", "s", "share", "web", "api"}
)
# /<kind>/<id> on youtube.com hosts
_YOUTUBE_ID_PATHS = frozenset({"shorts", "embed", "live", "v"})
# Schemes refused outright even without "//" (javascript:alert(1), data:text/html,...)
_BAD_SCHEMES = frozenset({"javascript", "vbscript", "data", "file", "ftp", "blob", "about", "mailto", "tel", "intent"})


def parse_link(text: str, *, photo_posts: bool = False) -> ParsedLink:
    """Parse one link into a `ParsedLink`, or raise `LinkRejected` with the reason.

    Accepts surrounding whitespace and ``<...>``, no scheme, ``http`` or ``https``, upper
    case hosts and trailing slashes. Anything else unusual (control or invisible
    characters, whitespace inside, backslashes) is refused as ``NOT_A_URL``. A TikTok
    photo post is refused as ``PHOTO_POST`` unless ``photo_posts`` (they are paid for).
    """
    if not isinstance(text, str):
        raise TypeError(f"parse_link expects str, got {type(text).__name__}")
    link = _strip_wrapping(text)
    if not link:
        raise LinkRejected(LinkRejectReason.EMPTY)
    if len(link) > MAX_LINK_LENGTH:
        raise LinkRejected(LinkRejectReason.TOO_LONG, f"{len(link)} characters, at most {MAX_LINK_LENGTH}")
    _refuse_odd_characters(link)
    rest = _strip_scheme(link)
    host, path, query = _split_authority(rest)
    segments = [segment for segment in path.split("/") if segment]
    if host in _TIKTOK_HOSTS or host in _TIKTOK_SHORT_HOSTS:
        return _parse_tiktok(host, segments, photo_posts=photo_posts)
    if host in _INSTAGRAM_HOSTS:
        return _parse_instagram(segments)
    return _parse_youtube(host, segments, query)


def is_valid_video_id(platform: Platform | str, video_id: str) -> bool:
    """True when ``video_id`` has the shape of a video id on ``platform``."""
    pattern = {Platform.YOUTUBE: _YOUTUBE_ID, Platform.TIKTOK: _TIKTOK_ID, Platform.INSTAGRAM: _INSTAGRAM_ID}[
        Platform(platform)
    ]
    return isinstance(video_id, str) and pattern.fullmatch(video_id) is not None


def canonical_video_url(
    platform: Platform | str, video_id: str, *, author_handle: str | None = None, photo_post: bool = False
) -> str:
    """The one https URL the project uses for a video.

    YouTube: ``https://www.youtube.com/watch?v=<id>``. Instagram:
    ``https://www.instagram.com/p/<shortcode>/`` (the one path every reel and post answers
    on; shortcodes are case-sensitive, kept as given). TikTok:
    ``https://www.tiktok.com/@<handle>/video/<id>`` (``/photo/<id>`` for a photo post), or
    ``@/video/<id>`` when the handle is unknown (TikTok redirects that to the right
    author). Raises `LinkRejected` (``BAD_VIDEO_ID``) for an id of the wrong shape.
    """
    platform = Platform(platform)
    if not is_valid_video_id(platform, video_id):
        raise LinkRejected(LinkRejectReason.BAD_VIDEO_ID, f"{platform.value} id {video_id!r}")
    if platform is Platform.YOUTUBE:
        return f"https://www.youtube.com/watch?v={video_id}"
    if platform is Platform.INSTAGRAM:
        return f"https://www.instagram.com/p/{video_id}/"
    handle = (author_handle or "").lstrip("@").lower()
    if _TIKTOK_HANDLE.fullmatch(handle) is None:
        raise LinkRejected(LinkRejectReason.NOT_A_VIDEO, f"bad TikTok handle {author_handle!r}")
    return f"https://www.tiktok.com/@{handle}/{'photo' if photo_post else 'video'}/{video_id}"


def with_author(parsed: ParsedLink, author: str | None) -> ParsedLink:
    """``parsed`` with its canonical URL naming ``author``, the platform's own answer.

    Links without the author (``m.tiktok.com/v/ID``, embeds) would otherwise be shown back
    as ``tiktok.com/@/video/ID``; and the handle the platform reports wins over one typed
    in the link. YouTube URLs carry no author; an unusable handle leaves ``parsed`` as is.
    """
    handle = (author or "").strip().lstrip("@").lower()
    if (
        parsed.platform is not Platform.TIKTOK
        or parsed.video_id is None
        or not handle
        or _TIKTOK_HANDLE.fullmatch(handle) is None
    ):
        return parsed
    url = canonical_video_url(Platform.TIKTOK, parsed.video_id, author_handle=handle, photo_post=parsed.photo_post)
    return ParsedLink(
        platform=parsed.platform,
        video_id=parsed.video_id,
        canonical_url=url,
        needs_resolving=False,
        author_handle=handle,
        photo_post=parsed.photo_post,
    )


def extract_links(text: str, *, limit: int = MAX_LINKS_PER_MESSAGE) -> list[str]:
    """Candidate links in a message, in order, without duplicates, at most ``limit``.

    A candidate is a whitespace-separated word that has a ``scheme://`` or starts with a
    host followed by ``/`` (``youtu.be/...``), or is a bare supported host. Quotes,
    brackets and sentence punctuation around a word are dropped. Candidates are not
    validated: pass each to `parse_link` to accept it or learn why it is refused.
    """
    found: list[str] = []
    for word in text.split():
        candidate = word.strip("<>()[]{}\"'«»“”‘’").rstrip(".,;:!?")
        candidate = candidate.strip("<>()[]{}\"'«»“”‘’")
        if not candidate or candidate in found or not _looks_like_link(candidate):
            continue
        found.append(candidate)
        if len(found) >= limit:
            break
    return found


def _looks_like_link(word: str) -> bool:
    if re.match(r"[A-Za-z][A-Za-z0-9+.\-]*://", word):
        return True
    host, slash, _ = word.partition("/")
    host = host.lower()
    if re.fullmatch(r"(?:[a-z0-9-]+\.)+[a-z]{2,}", host) is None:
        return False
    return bool(slash) or host in _SUPPORTED_HOSTS


def _strip_wrapping(text: str) -> str:
    link = text.strip()
    while len(link) >= 2 and link[0] == "<" and link[-1] == ">":
        link = link[1:-1].strip()
    return link


def _refuse_odd_characters(link: str) -> None:
    for char in link:
        category = unicodedata.category(char)
        # C*: control, format (zero-width), private, unassigned; Z*: any space
        if category[0] in "CZ" or char == "\\":
            raise LinkRejected(LinkRejectReason.NOT_A_URL, f"character U+{ord(char):04X} in link")


def _strip_scheme(link: str) -> str:
    """Return the link without ``scheme://``; refuse schemes other than http(s)."""
    if link.startswith("//"):
        return link[2:]
    match = _SCHEME.match(link)
    if match is None:
        return link
    scheme = match.group(1).lower()
    after = link[match.end() :]
    if after.startswith("//"):
        if scheme not in {"http", "https"}:
            raise LinkRejected(LinkRejectReason.BAD_SCHEME, scheme)
        return after[2:]
    if scheme in {"http", "https"}:
        raise LinkRejected(LinkRejectReason.NOT_A_URL, f"{scheme}: without //")
    if scheme in _BAD_SCHEMES:
        raise LinkRejected(LinkRejectReason.BAD_SCHEME, scheme)
    if "." in scheme or after[:1].isdigit() or not after:
        return link  # "youtube.com:8080/..." or "localhost:80": a host with a port, judged below
    raise LinkRejected(LinkRejectReason.BAD_SCHEME, scheme)


def _split_authority(rest: str) -> tuple[str, str, str]:
    """Split ``host/path?query#fragment`` into (host, path, query); check the host."""
    end = len(rest)
    for mark in "/?#":
        position = rest.find(mark)
        if position != -1:
            end = min(end, position)
    authority, remainder = rest[:end], rest[end:]
    if not authority:
        raise LinkRejected(LinkRejectReason.NOT_A_URL, "no host")
    if "@" in authority:
        raise LinkRejected(LinkRejectReason.USERINFO)
    if authority.startswith("["):
        raise LinkRejected(LinkRejectReason.UNSUPPORTED_HOST, "IP literal")
    if ":" in authority:
        raise LinkRejected(LinkRejectReason.PORT)
    host = authority.lower()
    if host.endswith("."):
        host = host[:-1]  # fully qualified form of the same host
    if not host.isascii() or "%" in host:
        raise LinkRejected(LinkRejectReason.UNSUPPORTED_HOST, "non-ASCII or encoded host")
    if "." not in host or _HOST_CHARS.fullmatch(host) is None:
        raise LinkRejected(LinkRejectReason.NOT_A_URL, f"not a host name: {host!r}")
    if host not in _SUPPORTED_HOSTS:
        raise LinkRejected(LinkRejectReason.UNSUPPORTED_HOST, host)
    path, _, query = remainder.partition("#")[0].partition("?")
    return host, path, query


def _parse_youtube(host: str, segments: list[str], query: str) -> ParsedLink:
    if host in _YOUTUBE_SHORT_HOSTS:
        if len(segments) != 1:
            raise LinkRejected(LinkRejectReason.NOT_A_VIDEO, "youtu.be without a single id")
        return _youtube(segments[0])
    kind = segments[0].lower() if segments else ""
    if kind == "embed" and segments[1:] == ["videoseries"]:
        # 11 characters like an id, but it embeds a playlist (?list=...)
        raise LinkRejected(LinkRejectReason.NOT_A_VIDEO, "embedded playlist")
    if host in _YOUTUBE_NOCOOKIE_HOSTS:
        if kind == "embed" and len(segments) == 2:
            return _youtube(segments[1])
        raise LinkRejected(LinkRejectReason.NOT_A_VIDEO, "youtube-nocookie link is not an embed")
    if kind == "watch" and len(segments) == 1:
        ids = {value for key, value in parse_qsl(query, keep_blank_values=True) if key == "v"}
        if not ids:
            raise LinkRejected(LinkRejectReason.NOT_A_VIDEO, "watch page without v=")
        if len(ids) > 1:
            raise LinkRejected(LinkRejectReason.BAD_VIDEO_ID, "several different v= values")
        return _youtube(ids.pop())
    if kind in _YOUTUBE_ID_PATHS and len(segments) == 2:
        return _youtube(segments[1])
    raise LinkRejected(LinkRejectReason.NOT_A_VIDEO, "not a video page (channel, playlist, ...)")


def _youtube(video_id: str) -> ParsedLink:
    if _YOUTUBE_ID.fullmatch(video_id) is None:
        raise LinkRejected(LinkRejectReason.BAD_VIDEO_ID, f"YouTube id {video_id[:40]!r}")
    return ParsedLink(
        platform=Platform.YOUTUBE,
        video_id=video_id,
        canonical_url=canonical_video_url(Platform.YOUTUBE, video_id),
        needs_resolving=False,
        author_handle=None,
    )


def _parse_tiktok(host: str, segments: list[str], *, photo_posts: bool) -> ParsedLink:
    if host in _TIKTOK_SHORT_HOSTS:
        if len(segments) != 1:
            raise LinkRejected(LinkRejectReason.NOT_A_VIDEO, f"{host} link without a single code")
        return _tiktok_short(f"https://{host}/", segments[0])
    kind = segments[0].lower() if segments else ""
    if kind == "t" and len(segments) == 2:
        return _tiktok_short("https://www.tiktok.com/t/", segments[1])
    if kind.startswith("@"):
        if len(segments) == 3 and segments[1].lower() == "video":
            handle = segments[0][1:]
            if _TIKTOK_HANDLE.fullmatch(handle) is None:
                raise LinkRejected(LinkRejectReason.NOT_A_VIDEO, "bad TikTok handle")
            return _tiktok(segments[2], handle=handle.lower() or None)
        if len(segments) == 3 and segments[1].lower() == "photo":
            if not photo_posts:
                raise LinkRejected(LinkRejectReason.PHOTO_POST, "TikTok photo post; photo posts are not paid for")
            handle = segments[0][1:]
            if _TIKTOK_HANDLE.fullmatch(handle) is None:
                raise LinkRejected(LinkRejectReason.NOT_A_VIDEO, "bad TikTok handle")
            return _tiktok(segments[2], handle=handle.lower() or None, photo_post=True)
        raise LinkRejected(LinkRejectReason.NOT_A_VIDEO, "TikTok profile, not a video")
    if kind == "v" and len(segments) == 2:
        video_id = segments[1]
        return _tiktok(video_id[: -len(".html")] if video_id.lower().endswith(".html") else video_id, handle=None)
    if kind == "embed" and (len(segments) == 2 or (len(segments) == 3 and segments[1].lower() == "v2")):
        return _tiktok(segments[-1], handle=None)
    raise LinkRejected(LinkRejectReason.NOT_A_VIDEO, "not a TikTok video page")


def _tiktok(video_id: str, *, handle: str | None, photo_post: bool = False) -> ParsedLink:
    if _TIKTOK_ID.fullmatch(video_id) is None:
        raise LinkRejected(LinkRejectReason.BAD_VIDEO_ID, f"TikTok id {video_id[:40]!r}")
    return ParsedLink(
        platform=Platform.TIKTOK,
        video_id=video_id,
        canonical_url=canonical_video_url(Platform.TIKTOK, video_id, author_handle=handle, photo_post=photo_post),
        needs_resolving=False,
        author_handle=handle,
        photo_post=photo_post,
    )


def _tiktok_short(base: str, code: str) -> ParsedLink:
    if _TIKTOK_SHORT_CODE.fullmatch(code) is None:
        raise LinkRejected(LinkRejectReason.BAD_VIDEO_ID, f"TikTok short code {code[:40]!r}")
    return ParsedLink(
        platform=Platform.TIKTOK,
        video_id=None,
        canonical_url=f"{base}{code}/",
        needs_resolving=True,
        author_handle=None,
    )


def _parse_instagram(segments: list[str]) -> ParsedLink:
    """``/reel/CODE``, ``/reels/CODE``, ``/p/CODE``, ``/tv/CODE``, the same under
    ``/<username>/``, each optionally ``/embed`` or ``/embed/captioned``; ``/share/...``
    links are resolved by a redirect first. Stories, profiles, audio pages are refused."""
    kind = segments[0].lower() if segments else ""
    if kind == "share":
        codes = segments[2:] if len(segments) == 3 and segments[1].lower() in {"reel", "p"} else segments[1:]
        if len(codes) != 1 or _INSTAGRAM_ID.fullmatch(codes[0]) is None:
            raise LinkRejected(LinkRejectReason.NOT_A_VIDEO, "Instagram share link without a single code")
        return ParsedLink(
            platform=Platform.INSTAGRAM,
            video_id=None,
            canonical_url="https://www.instagram.com/" + "/".join(segments) + "/",
            needs_resolving=True,
            author_handle=None,
        )
    handle = None
    if kind not in _INSTAGRAM_MEDIA_PATHS and len(segments) >= 3 and segments[1].lower() in _INSTAGRAM_MEDIA_PATHS:
        if kind in _INSTAGRAM_RESERVED or _INSTAGRAM_HANDLE.fullmatch(segments[0]) is None:
            raise LinkRejected(LinkRejectReason.NOT_A_VIDEO, "not an Instagram post page")
        handle, segments = segments[0].lower(), segments[1:]
        kind = segments[0].lower()
    if kind not in _INSTAGRAM_MEDIA_PATHS or len(segments) < 2:
        raise LinkRejected(LinkRejectReason.NOT_A_VIDEO, "Instagram profile, story or feed, not a post")
    if kind == "reels" and segments[1].lower() == "audio":
        raise LinkRejected(LinkRejectReason.NOT_A_VIDEO, "Instagram audio page")
    if tuple(part.lower() for part in segments[2:]) not in _INSTAGRAM_SUFFIXES:
        raise LinkRejected(LinkRejectReason.NOT_A_VIDEO, "not an Instagram post page")
    code = segments[1]
    if _INSTAGRAM_ID.fullmatch(code) is None:
        raise LinkRejected(LinkRejectReason.BAD_VIDEO_ID, f"Instagram shortcode {code[:40]!r}")
    return ParsedLink(
        platform=Platform.INSTAGRAM,
        video_id=code,
        canonical_url=canonical_video_url(Platform.INSTAGRAM, code),
        needs_resolving=False,
        author_handle=handle,
    )
