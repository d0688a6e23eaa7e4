"""The one interface every view-count adapter offers, and the values it returns."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Protocol, runtime_checkable

from zenith.platforms.errors import PlatformError


@dataclass(frozen=True)
class VideoStats:
    """What a platform says about one video at one moment.

    ``likes`` / ``comments`` are None when the platform hides them; ``views`` is
    always a real count (an adapter raises rather than invent zero).
    """

    platform: str
    video_id: str
    views: int
    likes: int | None
    comments: int | None
    author: str | None
    author_id: str | None
    published_at: datetime | None
    duration_seconds: int | None
    title: str | None


@dataclass(frozen=True)
class AccountInfo:
    """A creator account, for ownership checks (a code placed in ``description``).

    :param external_id: the platform's stable id (YouTube ``UC...`` channel id,
        TikTok numeric user id).
    :param handle: the public handle without ``@`` (may be None for old YouTube
        channels without a handle).
    :param description: the channel description / profile bio text ("" if empty).
    :param followers: followers / subscribers as the platform shows them; None when it
        does not (a YouTube channel hiding its count).
    :param created_at: when the account was created, where the platform tells (YouTube).
    """

    platform: str
    external_id: str
    handle: str | None
    description: str
    title: str | None = None
    followers: int | None = None
    created_at: datetime | None = None


# One id's outcome in a batch: stats, or the classified reason it has none.
VideoResult = VideoStats | PlatformError


@runtime_checkable
class PlatformAdapter(Protocol):
    """A view-count source. Implementations: ``YouTubeAdapter``, ``TikTokAdapter``.

    ``fetch_many`` returns one entry per requested id (a ``PermanentError`` for a
    private or deleted video, a ``TransientError`` / ``BadResponseError`` for one that
    failed this time), so one bad video never fails a batch. Errors that concern the
    whole platform (``BlockedError``, ``QuotaExceededError``, ``ConfigurationError``)
    are raised instead.
    """

    platform: str

    async def fetch_many(self, video_ids: list[str]) -> dict[str, VideoResult]: ...

    async def fetch_account(self, handle_or_id: str) -> AccountInfo: ...

    async def close(self) -> None: ...
