"""Which traces belong to a video: the first in ``videos.trace_id``, later ones in ``video_traces``."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import psycopg

from zenith.telemetry.attributes import current_trace_id_hex


class VideoNotFound(LookupError):
    """No video has this id."""


@dataclass(frozen=True)
class VideoTraces:
    video_id: int
    platform: str
    first_trace_id: str | None
    later: list[tuple[str, str, datetime]]  # (trace_id, kind, recorded_at), oldest first


async def record_video_trace(conn: psycopg.AsyncConnection, *, video_id: int, trace_id: str | None = None, kind: str = "recheck") -> str | None:
    """Remember that a trace worked on a video (idempotent); returns the trace id stored.

    Parameters:
      conn(AsyncConnection): Any connection; joins the caller's transaction if one is open.
      video_id(int): The video.
      trace_id(str|None): 32 hex digits; default: the current span's trace. Nothing is
        stored (and None returned) when there is no trace, e.g. tracing is off.
      kind(str): What the trace did: "recheck" (default), "moderation", ...
    """
    trace_id = trace_id or current_trace_id_hex()
    if not trace_id:
        return None
    await conn.execute(
        "INSERT INTO video_traces (video_id, trace_id, kind) VALUES (%s, %s, %s) ON CONFLICT DO NOTHING",
        (video_id, trace_id, kind),
    )
    return trace_id


def load_video_traces(conn: psycopg.Connection, *, video_id: int) -> VideoTraces:
    """The video's first trace and its later ones; raises ``VideoNotFound``."""
    row = conn.execute("SELECT platform, trace_id FROM videos WHERE id = %s", (video_id,)).fetchone()
    if row is None:
        raise VideoNotFound(f"no video with id {video_id}")
    platform, first = (row["platform"], row["trace_id"]) if isinstance(row, dict) else row
    later_rows = conn.execute(
        "SELECT trace_id, kind, recorded_at FROM video_traces WHERE video_id = %s ORDER BY recorded_at, trace_id",
        (video_id,),
    ).fetchall()
    later = [tuple(r.values()) if isinstance(r, dict) else tuple(r) for r in later_rows]
    later = [entry for entry in later if entry[0] != first]
    return VideoTraces(video_id=video_id, platform=platform, first_trace_id=first, later=later)
