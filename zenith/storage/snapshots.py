"""View snapshots: a video's stats at one instant, for crediting and charts."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import psycopg

from zenith.storage.db import fetch_all, fetch_one, fetch_row


@dataclass(frozen=True)
class Snapshot:
    id: int
    video_id: int
    views: int
    likes: int
    comments: int
    taken_at: datetime


async def insert(
    conn: psycopg.AsyncConnection,
    *,
    video_id: int,
    views: int,
    taken_at: datetime,
    likes: int = 0,
    comments: int = 0,
) -> tuple[Snapshot, bool]:
    """Store a snapshot once per (video, ``taken_at``).

    Returns ``(snapshot, True)`` when stored now, ``(existing, False)`` on a replay (the
    stored stats are kept).
    """
    row = await fetch_one(
        conn,
        """
        INSERT INTO view_snapshots (video_id, views, likes, comments, taken_at)
        VALUES (%s, %s, %s, %s, %s)
        ON CONFLICT (video_id, taken_at) DO NOTHING
        RETURNING *
        """,
        (video_id, views, likes, comments, taken_at),
    )
    if row is not None:
        return Snapshot(**row), True
    row = await fetch_row(
        conn, "SELECT * FROM view_snapshots WHERE video_id = %s AND taken_at = %s", (video_id, taken_at)
    )
    return Snapshot(**row), False


async def list_for_video(conn: psycopg.AsyncConnection, *, video_id: int, limit: int = 500) -> list[Snapshot]:
    """The latest ``limit`` snapshots of the video, oldest first (ready for a chart)."""
    rows = await fetch_all(
        conn,
        """
        SELECT * FROM (
            SELECT * FROM view_snapshots WHERE video_id = %s ORDER BY taken_at DESC LIMIT %s
        ) AS latest ORDER BY taken_at
        """,
        (video_id, limit),
    )
    return [Snapshot(**row) for row in rows]


async def insert_many(
    conn: psycopg.AsyncConnection, rows: list[tuple[int, int, int, int]], *, taken_at: datetime
) -> dict[int, tuple[Snapshot, bool]]:
    """``insert`` for many videos at one ``taken_at``: rows are (video_id, views, likes, comments).

    Returns ``{video_id: (snapshot, created)}``; ``created`` is False on a replay (the
    stored stats are kept), as ``insert`` says.
    """
    if not rows:
        return {}
    ids, views, likes, comments = (list(column) for column in zip(*rows, strict=True))
    created = await fetch_all(
        conn,
        """
        INSERT INTO view_snapshots (video_id, views, likes, comments, taken_at)
        SELECT video_id, views, likes, comments, %s
          FROM unnest(%b::bigint[], %b::bigint[], %b::bigint[], %b::bigint[]) AS u(video_id, views, likes, comments)
        ON CONFLICT (video_id, taken_at) DO NOTHING
        RETURNING *
        """,
        (taken_at, ids, views, likes, comments),
    )
    found = {row["video_id"]: (Snapshot(**row), True) for row in created}
    replayed = [video_id for video_id in ids if video_id not in found]
    if replayed:
        for row in await fetch_all(
            conn, "SELECT * FROM view_snapshots WHERE video_id = ANY(%s) AND taken_at = %s", (replayed, taken_at)
        ):
            found[row["video_id"]] = (Snapshot(**row), False)
    return found
