"""Which traces worked on a video: the first in ``videos.trace_id``, later ones in ``video_traces``."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import psycopg
from psycopg.rows import dict_row

from zenith.domain.links import Platform


class VideoNotFound(LookupError):
    """No video has this id."""


@dataclass(frozen=True)
class LaterTrace:
    """A trace after the video's first one (a re-check, a moderator's approval)."""

    trace_id: str
    kind: str
    recorded_at: datetime


@dataclass(frozen=True)
class VideoTraces:
    video_id: int
    platform: Platform
    first_trace_id: str | None
    later: list[LaterTrace]  # oldest first, the first trace left out


async def record(conn: psycopg.AsyncConnection, *, video_id: int, trace_id: str, kind: str) -> None:
    """Remember that trace ``trace_id`` worked on the video; recording it twice is a no-op.

    Joins the caller's transaction if one is open.
    """
    await conn.execute(
        "INSERT INTO video_traces (video_id, trace_id, kind) VALUES (%s, %s, %s) ON CONFLICT DO NOTHING",
        (video_id, trace_id, kind),
    )


def load(conn: psycopg.Connection, *, video_id: int) -> VideoTraces:
    """The video's first trace and its later ones (synchronous: the CLI reads them); raises ``VideoNotFound``."""
    with conn.cursor(row_factory=dict_row) as cursor:
        video = cursor.execute("SELECT platform, trace_id FROM videos WHERE id = %s", (video_id,)).fetchone()
        if video is None:
            raise VideoNotFound(f"no video with id {video_id}")
        rows = cursor.execute(
            "SELECT trace_id, kind, recorded_at FROM video_traces WHERE video_id = %s ORDER BY recorded_at, trace_id",
            (video_id,),
        ).fetchall()
    first = video["trace_id"]
    later = [LaterTrace(**row) for row in rows if row["trace_id"] != first]
    return VideoTraces(video_id=video_id, platform=Platform(video["platform"]), first_trace_id=first, later=later)


async def record_many(conn: psycopg.AsyncConnection, *, trace_id: str, checks: list[int], rechecks: list[int]) -> None:
    """``record`` of one trace for many videos in one statement: kind "check" for ``checks``,
    "recheck" for ``rechecks``. The trace id goes once, not once per video: the parsing
    worker records a batch of 50 with each check, and dumping 50 copies of it and of the
    kind took 235 instead of 98 us of the worker's CPU."""
    if checks or rechecks:
        await conn.execute(
            """
            INSERT INTO video_traces (video_id, trace_id, kind)
            SELECT id, %(trace)s, 'check' FROM unnest(%(checks)b::bigint[]) AS id
            UNION ALL
            SELECT id, %(trace)s, 'recheck' FROM unnest(%(rechecks)b::bigint[]) AS id
            ON CONFLICT DO NOTHING
            """,
            {"trace": trace_id, "checks": checks, "rechecks": rechecks},
        )
