"""Videos: submissions, moderation, stats and the clock's re-check queue."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal

import psycopg

from zenith.domain.links import Platform
from zenith.domain.videos import VideoStatus
from zenith.storage.db import fetch_all, fetch_one, fetch_row


class VideoNotFound(LookupError):
    """No video with that id."""


class DuplicateVideo(Exception):
    """The video (platform + external id) was already submitted; ``existing`` is that video."""

    def __init__(self, existing: "Video") -> None:
        super().__init__(f"{existing.platform} video {existing.external_id} already submitted as #{existing.id}")
        self.existing = existing


@dataclass(frozen=True)
class Video:
    id: int
    platform: Platform
    external_id: str
    user_id: int
    account_id: int | None
    url: str
    title: str | None
    author: str | None
    status: VideoStatus
    status_reason: str | None
    status_changed_at: datetime
    moderated_by: int | None
    views: int
    likes: int
    comments: int
    credited: Decimal
    next_check_at: datetime | None
    check_enqueued_at: datetime | None
    last_checked_at: datetime | None
    submitted_at: datetime
    published_at: datetime | None
    trace_id: str | None
    request_id: str | None
    campaign_id: int = 1  # the default program (domain.campaigns.DEFAULT_CAMPAIGN_ID)

    def __post_init__(self) -> None:
        object.__setattr__(self, "platform", Platform(self.platform))
        object.__setattr__(self, "status", VideoStatus(self.status))


@dataclass(frozen=True)
class VideoPage:
    items: list[Video]
    total: int


def _status(status: VideoStatus | str) -> str:
    """The stored text of ``status``; ValueError for an unknown one."""
    return VideoStatus(status).value


async def insert(
    conn: psycopg.AsyncConnection,
    *,
    platform: Platform | str,
    external_id: str,
    user_id: int,
    url: str,
    request_id: str,
    account_id: int | None = None,
    title: str | None = None,
    author: str | None = None,
    status: VideoStatus | str = VideoStatus.PENDING_MODERATION,
    published_at: datetime | None = None,
    next_check_at: datetime | None = None,
    trace_id: str | None = None,
    campaign_id: int = 1,
) -> tuple[Video, bool]:
    """Store a submitted video once per ``request_id``.

    Returns ``(video, True)`` when stored now and ``(existing, False)`` when this
    ``request_id`` was stored before (a resent message). Raises ``DuplicateVideo`` when
    the same platform video was submitted by another request.
    """
    values = (
        Platform(platform).value,
        external_id,
        user_id,
        url,
        request_id,
        account_id,
        title,
        author,
        _status(status),
        published_at,
        next_check_at,
        trace_id,
        campaign_id,
    )
    # A conflicting row can vanish between the statements (its transaction rolled
    # back); then the insert is simply tried again.
    for _ in range(3):
        row = await fetch_one(
            conn,
            """
            INSERT INTO videos (platform, external_id, user_id, url, request_id, account_id, title, author,
                                status, published_at, next_check_at, trace_id, campaign_id)
            VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)
            ON CONFLICT DO NOTHING
            RETURNING *
            """,
            values,
        )
        if row is not None:
            return Video(**row), True
        replay = await find_by_request(conn, request_id=request_id)
        if replay is not None:
            return replay, False
        existing = await find(conn, platform=platform, external_id=external_id)
        if existing is not None:
            raise DuplicateVideo(existing)
    raise RuntimeError(f"could not store {platform} video {external_id}: conflicting row keeps vanishing")


async def get(conn: psycopg.AsyncConnection, video_id: int, *, for_update: bool = False) -> Video:
    """The video with id ``video_id``; ``for_update`` locks its row until the transaction ends."""
    lock = " FOR UPDATE" if for_update else ""
    row = await fetch_one(conn, "SELECT * FROM videos WHERE id = %s" + lock, (video_id,))
    if row is None:
        raise VideoNotFound(f"no video with id {video_id}")
    return Video(**row)


async def get_many(conn: psycopg.AsyncConnection, video_ids: list[int]) -> list[Video]:
    """The videos with these ids (missing ones left out), in id order."""
    rows = await fetch_all(conn, "SELECT * FROM videos WHERE id = ANY(%b) ORDER BY id", (list(video_ids),))
    return [Video(**row) for row in rows]


async def find(conn: psycopg.AsyncConnection, *, platform: Platform | str, external_id: str) -> Video | None:
    row = await fetch_one(
        conn, "SELECT * FROM videos WHERE platform = %s AND external_id = %s", (Platform(platform).value, external_id)
    )
    return Video(**row) if row else None


async def find_by_request(conn: psycopg.AsyncConnection, *, request_id: str) -> Video | None:
    """The video stored by the submission with ``request_id``, if any (request ids are unique)."""
    row = await fetch_one(conn, "SELECT * FROM videos WHERE request_id = %s", (request_id,))
    return Video(**row) if row else None


async def list_for_user(conn: psycopg.AsyncConnection, *, user_id: int, limit: int = 10, offset: int = 0) -> VideoPage:
    """One page of the user's videos, newest first, with the total count.

    The page's ids come from the ``videos_user_submitted`` index alone (an index-only
    scan), so the rows skipped by ``offset`` are never read from the table; only the
    page's own rows are. The total is a separate index-only count (``count_for_user``).
    """
    if limit < 1 or offset < 0:
        raise ValueError("limit must be >= 1 and offset >= 0")
    rows = await fetch_all(
        conn,
        """
        SELECT v.* FROM (
            SELECT id FROM videos WHERE user_id = %s
             ORDER BY submitted_at DESC, id DESC LIMIT %s OFFSET %s
        ) AS page
        JOIN videos v ON v.id = page.id
        ORDER BY v.submitted_at DESC, v.id DESC
        """,
        (user_id, limit, offset),
    )
    return VideoPage(items=[Video(**row) for row in rows], total=await count_for_user(conn, user_id=user_id))


async def count_for_user(conn: psycopg.AsyncConnection, *, user_id: int) -> int:
    """How many videos the user has submitted (index-only scan of ``videos_user_submitted``)."""
    row = await fetch_row(conn, "SELECT count(*) AS n FROM videos WHERE user_id = %s", (user_id,))
    return int(row["n"])


async def set_status(
    conn: psycopg.AsyncConnection,
    *,
    video_id: int,
    status: VideoStatus | str,
    reason: str | None = None,
    from_statuses: tuple[VideoStatus | str, ...] | None = None,
    moderated_by: int | None = None,
    next_check_at: datetime | None = None,
) -> Video | None:
    """Move the video to ``status`` (with ``reason``) if its status is one of ``from_statuses``.

    Parameters:
      from_statuses: statuses allowed before the change (default: any). Returns None
        and changes nothing when the video is in another status (someone else moved it).
      moderated_by: Telegram id of the admin deciding.
      next_check_at: first re-check when approving; leaving 'approved' clears the schedule.
    """
    allowed = (
        [_status(old) for old in from_statuses]
        if from_statuses is not None
        else [status.value for status in VideoStatus]
    )
    row = await fetch_one(
        conn,
        """
        UPDATE videos
           SET status = %(status)s, status_reason = %(reason)s, status_changed_at = now(),
               moderated_by = coalesce(%(moderated_by)s, moderated_by),
               next_check_at = CASE WHEN %(status)s = 'approved' THEN coalesce(%(next)s, next_check_at) END,
               check_enqueued_at = CASE WHEN %(status)s = 'approved' THEN check_enqueued_at END
         WHERE id = %(id)s AND status = ANY(%(allowed)s)
        RETURNING *
        """,
        {
            "status": _status(status),
            "reason": reason,
            "moderated_by": moderated_by,
            "next": next_check_at,
            "id": video_id,
            "allowed": allowed,
        },
    )
    if row is None:
        await get(conn, video_id)  # VideoNotFound for a wrong id
        return None
    return Video(**row)


async def moderation_queue(conn: psycopg.AsyncConnection, *, limit: int = 10, after_id: int = 0) -> list[Video]:
    """Videos waiting for moderation, oldest first; page with ``after_id``."""
    rows = await fetch_all(
        conn,
        """
        SELECT * FROM videos WHERE status = 'pending_moderation' AND id > %s
         ORDER BY submitted_at, id LIMIT %s
        """,
        (after_id, limit),
    )
    return [Video(**row) for row in rows]


async def count_by_status(conn: psycopg.AsyncConnection) -> dict[VideoStatus, int]:
    """Number of videos in each status (every status present, zero if none).

    Reads the whole table (a Seq Scan: 180 ms at 500,000 videos): for reports, never
    on a screen someone waits for; count one status with ``count_with_status``.
    """
    rows = await fetch_all(conn, "SELECT status, count(*) AS n FROM videos GROUP BY status")
    counts = dict.fromkeys(VideoStatus, 0)
    counts.update({VideoStatus(row["status"]): row["n"] for row in rows})
    return counts


async def count_with_status(conn: psycopg.AsyncConnection, *, status: VideoStatus | str) -> int:
    """Number of videos in ``status``, counted on the ``videos_status_submitted`` index.

    Cheap for the small statuses (``pending_moderation``: the admin queue's size); the
    cost grows with the count, so ``approved`` on a big table is still a long scan.
    """
    row = await fetch_row(conn, "SELECT count(*) AS n FROM videos WHERE status = %s", (_status(status),))
    return int(row["n"])


async def update_stats(
    conn: psycopg.AsyncConnection,
    *,
    video_id: int,
    views: int,
    likes: int,
    comments: int,
    checked_at: datetime | None,  # None: a refused first answer leaves the video never checked
    next_check_at: datetime | None,
    credited: Decimal | None = None,
    title: str | None = None,
    finished: bool = False,
) -> Video:
    """Store a check's result: stats, next re-check, and clear the enqueued mark.

    ``finished`` ends tracking (status 'finished', no further checks) for an approved video.
    """
    row = await fetch_one(
        conn,
        """
        UPDATE videos
           SET views = %(views)s, likes = %(likes)s, comments = %(comments)s,
               last_checked_at = %(checked_at)s, check_enqueued_at = NULL,
               next_check_at = CASE WHEN %(tracking_over)s THEN NULL ELSE %(next)s::timestamptz END,
               credited = coalesce(%(credited)s, credited),
               title = coalesce(%(title)s, title),
               status = CASE WHEN %(tracking_over)s AND status = 'approved' THEN 'finished' ELSE status END,
               status_changed_at = CASE WHEN %(tracking_over)s AND status = 'approved' THEN now() ELSE status_changed_at END
         WHERE id = %(id)s
        RETURNING *
        """,
        {
            "views": views,
            "likes": likes,
            "comments": comments,
            "checked_at": checked_at,
            "next": next_check_at,
            "credited": credited,
            "title": title,
            "tracking_over": finished,
            "id": video_id,
        },
    )
    if row is None:
        raise VideoNotFound(f"no video with id {video_id}")
    return Video(**row)


async def claim_due_checks(conn: psycopg.AsyncConnection, *, now: datetime, limit: int, platform: str) -> list[int]:
    """Ids of approved videos of ``platform`` due for a re-check, marked enqueued at ``now``.

    Read on ``videos_due_checks_by_platform (platform, next_check_at)``: one platform's
    claim never walks the other's due videos.

    Rows locked by another claimer are skipped (``FOR UPDATE SKIP LOCKED``) and a
    claimed video is not due again until its check is stored (``update_stats``) or the
    claim goes stale, so two clocks never enqueue the same video twice.
    """
    rows = await fetch_all(
        conn,
        """
        WITH due AS (
            SELECT id FROM videos
             WHERE status = 'approved' AND check_enqueued_at IS NULL AND next_check_at <= %(now)s
               AND platform = %(platform)s
             ORDER BY next_check_at
             LIMIT %(limit)s
             FOR UPDATE SKIP LOCKED
        )
        UPDATE videos v SET check_enqueued_at = %(now)s FROM due WHERE v.id = due.id
        RETURNING v.id
        """,
        {"now": now, "limit": limit, "platform": platform},
    )
    return sorted(row["id"] for row in rows)


async def claim_stale_checks(
    conn: psycopg.AsyncConnection, *, now: datetime, older_than: timedelta, limit: int, platform: str
) -> list[int]:
    """Ids of checks enqueued before ``now - older_than`` and never stored (message lost).

    They are claimed again (enqueued mark moved to ``now``) so the caller re-sends them.
    """
    rows = await fetch_all(
        conn,
        """
        WITH stale AS (
            SELECT id FROM videos
             WHERE status = 'approved' AND check_enqueued_at < %(cutoff)s
               AND platform = %(platform)s
             ORDER BY check_enqueued_at
             LIMIT %(limit)s
             FOR UPDATE SKIP LOCKED
        )
        UPDATE videos v SET check_enqueued_at = %(now)s FROM stale WHERE v.id = stale.id
        RETURNING v.id
        """,
        {"now": now, "cutoff": now - older_than, "limit": limit, "platform": platform},
    )
    return sorted(row["id"] for row in rows)


async def release_checks(conn: psycopg.AsyncConnection, *, video_ids: list[int]) -> int:
    """Clear the enqueued mark (the message could not be sent); returns rows changed."""
    cursor = await conn.execute(
        "UPDATE videos SET check_enqueued_at = NULL WHERE id = ANY(%b) AND check_enqueued_at IS NOT NULL",
        (list(video_ids),),
    )
    return cursor.rowcount


async def claim_for_check(conn: psycopg.AsyncConnection, *, video_id: int, now: datetime) -> bool:
    """Mark an approved, unclaimed video's check enqueued at ``now`` (its sender sends it
    next); if that message is lost, the clock finds the claim overdue. False if already claimed."""
    cursor = await conn.execute(
        "UPDATE videos SET check_enqueued_at = %s WHERE id = %s AND status = 'approved' AND check_enqueued_at IS NULL",
        (now, video_id),
    )
    return cursor.rowcount == 1


async def postpone_checks(conn: psycopg.AsyncConnection, *, video_ids: list[int], until: datetime) -> int:
    """The claimed checks of ``video_ids`` are re-sent for ``until`` (a delayed retry, a
    paused platform): the clock counts them lost only from then. Returns rows changed."""
    cursor = await conn.execute(
        "UPDATE videos SET check_enqueued_at = %s WHERE id = ANY(%b) AND status = 'approved' AND check_enqueued_at IS NOT NULL",
        (until, list(video_ids)),
    )
    return cursor.rowcount


async def lock_many(conn: psycopg.AsyncConnection, video_ids: list[int]) -> dict[int, Video]:
    """Lock the rows of ``video_ids`` in id order (two batches never deadlock); missing ones left out."""
    rows = await fetch_all(
        conn, "SELECT * FROM videos WHERE id = ANY(%b) ORDER BY id FOR UPDATE", (sorted(set(video_ids)),)
    )
    return {row["id"]: Video(**row) for row in rows}


@dataclass(frozen=True)
class StatsUpdate:
    """One video's row of ``update_stats_many``: the arguments of ``update_stats``."""

    video_id: int
    views: int
    likes: int
    comments: int
    next_check_at: datetime | None
    credited: Decimal | None
    title: str | None
    finished: bool


async def update_stats_many(
    conn: psycopg.AsyncConnection, updates: list[StatsUpdate], *, checked_at: datetime
) -> dict[int, Video]:
    """``update_stats`` for many videos in one statement; returns the updated rows by id."""
    if not updates:
        return {}
    rows = await fetch_all(
        conn,
        """
        UPDATE videos v
           SET views = u.views, likes = u.likes, comments = u.comments,
               last_checked_at = %(checked_at)s, check_enqueued_at = NULL,
               next_check_at = CASE WHEN u.over THEN NULL ELSE u.next END,
               credited = coalesce(u.credited, v.credited),
               title = coalesce(u.title, v.title),
               status = CASE WHEN u.over AND v.status = 'approved' THEN 'finished' ELSE v.status END,
               status_changed_at = CASE WHEN u.over AND v.status = 'approved' THEN now() ELSE v.status_changed_at END
          FROM unnest(%(id)b::bigint[], %(views)b::bigint[], %(likes)b::bigint[], %(comments)b::bigint[],
                      %(next)b::timestamptz[], %(credited)b::numeric[], %(title)b::text[], %(over)b::boolean[])
               AS u(id, views, likes, comments, next, credited, title, over)
         WHERE v.id = u.id
        RETURNING v.*
        """,
        {
            "checked_at": checked_at,
            "id": [u.video_id for u in updates],
            "views": [u.views for u in updates],
            "likes": [u.likes for u in updates],
            "comments": [u.comments for u in updates],
            "next": [u.next_check_at for u in updates],
            "credited": [u.credited for u in updates],
            "title": [u.title for u in updates],
            "over": [u.finished for u in updates],
        },
    )
    return {row["id"]: Video(**row) for row in rows}
