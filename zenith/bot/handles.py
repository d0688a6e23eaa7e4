"""Account handles as creators paste them: "@name", a profile link, a YouTube channel link."""

from __future__ import annotations

import re
from dataclasses import dataclass

from zenith.domain.links import Platform

_TIKTOK_HANDLE = re.compile(r"[a-z0-9._]{2,24}")
_INSTAGRAM_HANDLE = re.compile(r"[a-z0-9._]{1,30}")
_INSTAGRAM_HOSTS = frozenset({"instagram.com", "instagr.am"})
_YOUTUBE_HANDLE = re.compile(r"[a-z0-9._-]{3,30}")
_YOUTUBE_CHANNEL_ID = re.compile(r"UC[A-Za-z0-9_-]{22}")
_PREFIX = re.compile(r"(?i)^(?:https?://)?(?:www\.|m\.)?")

EXAMPLES = {
    Platform.TIKTOK: "@creator",
    Platform.YOUTUBE: "https://www.youtube.com/@creator",
    Platform.INSTAGRAM: "@creator",
}


class HandleNotUnderstood(ValueError):
    """The text names no account on the platform."""


@dataclass(frozen=True)
class AccountRef:
    """What the creator named: a handle (lower case, no "@") and, for /channel/ links, the channel id."""

    platform: Platform
    handle: str
    external_id: str | None = None

    @property
    def display(self) -> str:
        return self.external_id or f"@{self.handle}"


def parse_account(platform: Platform | str, text: str) -> AccountRef:
    """Read a TikTok or YouTube account from the creator's text; raise `HandleNotUnderstood`.

    TikTok: ``@name``, ``name``, ``tiktok.com/@name``. YouTube: ``@handle``,
    ``youtube.com/@handle``, ``youtube.com/channel/UC…`` (22 characters after UC).
    Instagram: ``@name``, ``name``, ``instagram.com/name``.
    Query strings and trailing slashes are ignored.
    """
    raw = text.strip().split("?", 1)[0].split("#", 1)[0].rstrip("/")
    if not raw or len(raw) > 200 or any(c.isspace() for c in raw):
        raise HandleNotUnderstood(text)
    rest = _PREFIX.sub("", raw)
    if platform == Platform.TIKTOK:
        host, _, path = rest.partition("/")
        if host.lower() == "tiktok.com":
            if not path.startswith("@"):
                raise HandleNotUnderstood(text)
            rest = path
        elif "/" in rest or "." in host and host.lower().endswith(".com"):
            raise HandleNotUnderstood(text)
        handle = rest.lstrip("@").lower()
        if "/" in handle or not _TIKTOK_HANDLE.fullmatch(handle):
            raise HandleNotUnderstood(text)
        return AccountRef(platform=Platform.TIKTOK, handle=handle)
    if platform == Platform.YOUTUBE:
        host, slash, path = rest.partition("/")
        if host.lower() == "youtube.com" and slash:
            if path.startswith("channel/"):
                channel_id = path[len("channel/") :]
                if not _YOUTUBE_CHANNEL_ID.fullmatch(channel_id):
                    raise HandleNotUnderstood(text)
                return AccountRef(platform=Platform.YOUTUBE, handle=channel_id.lower(), external_id=channel_id)
            if not path.startswith("@"):
                raise HandleNotUnderstood(text)
            rest = path
        elif not rest.startswith("@"):
            raise HandleNotUnderstood(text)
        handle = rest.lstrip("@").lower()
        if "/" in handle or not _YOUTUBE_HANDLE.fullmatch(handle):
            raise HandleNotUnderstood(text)
        return AccountRef(platform=Platform.YOUTUBE, handle=handle)
    if platform == Platform.INSTAGRAM:
        host, slash, path = rest.partition("/")
        if host.lower() in _INSTAGRAM_HOSTS and slash:
            rest = path
        elif "/" in rest or "." in host and host.lower().endswith((".com", ".am")):
            raise HandleNotUnderstood(text)
        handle = rest.lstrip("@").lower()
        if "/" in handle or not _INSTAGRAM_HANDLE.fullmatch(handle) or handle.startswith(".") or handle.endswith("."):
            raise HandleNotUnderstood(text)
        return AccountRef(platform=Platform.INSTAGRAM, handle=handle)
    raise HandleNotUnderstood(f"unknown platform {platform!r}")
