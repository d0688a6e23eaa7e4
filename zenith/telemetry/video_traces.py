"""Remember the current trace as one of a video's traces, so `zenith trace VIDEO_ID` lists it."""

from __future__ import annotations

import psycopg

from zenith.storage import video_traces
from zenith.telemetry.attributes import current_trace_id_hex


async def record_video_trace(
    conn: psycopg.AsyncConnection, *, video_id: int, trace_id: str | None = None, kind: str = "recheck"
) -> str | None:
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
    await video_traces.record(conn, video_id=video_id, trace_id=trace_id, kind=kind)
    return trace_id
