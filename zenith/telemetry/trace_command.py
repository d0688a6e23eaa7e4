"""`zenith trace VIDEO_ID`: print a video's trace ids with links into the Jaeger UI."""

from __future__ import annotations

import argparse
import json
import sys
from typing import TextIO
from urllib.parse import urlencode

from zenith.config import Settings, get_settings
from zenith.storage.db import connect_sync
from zenith.storage.video_traces import VideoNotFound, VideoTraces, load
from zenith.telemetry.attributes import VIDEO_ID

# Services whose spans carry zenith.video_id: the worker pools are named after their
# queue, a worker on every queue (`zenith worker` without --queues) is zenith-worker-all.
# Jaeger's search needs one service per query.
SEARCH_SERVICES = ("zenith-worker-submission", "zenith-worker-parsing", "zenith-worker-all")


def trace_url(jaeger_ui_url: str, trace_id: str) -> str:
    return f"{jaeger_ui_url.rstrip('/')}/trace/{trace_id}"


def search_url(jaeger_ui_url: str, *, video_id: int, service: str) -> str:
    """Jaeger search for every trace tagged with this video id."""
    query = urlencode({"service": service, "tags": json.dumps({VIDEO_ID: str(video_id)}, separators=(",", ":"))})
    return f"{jaeger_ui_url.rstrip('/')}/search?{query}"


def print_traces(traces: VideoTraces, *, jaeger_ui_url: str, out: TextIO) -> None:
    print(f"video {traces.video_id} ({traces.platform})", file=out)
    if traces.first_trace_id:
        print(f"first trace  {traces.first_trace_id}  {trace_url(jaeger_ui_url, traces.first_trace_id)}", file=out)
    else:
        print("first trace  (none stored: submitted while tracing was off)", file=out)
    for later in traces.later:
        print(
            f"{later.kind:<12} {later.trace_id}  {trace_url(jaeger_ui_url, later.trace_id)}  {later.recorded_at.isoformat(timespec='seconds')}",
            file=out,
        )
    if not traces.later:
        print("no later traces stored", file=out)
    for service in SEARCH_SERVICES:
        print(f"search       {search_url(jaeger_ui_url, video_id=traces.video_id, service=service)}", file=out)


def trace_report(settings: Settings, *, video_id: int, database_url: str, out: TextIO) -> int:
    with connect_sync(database_url) as conn:
        try:
            traces = load(conn, video_id=video_id)
        except VideoNotFound as exc:
            print(f"zenith trace: {exc}", file=sys.stderr)
            return 1
    print_traces(traces, jaeger_ui_url=settings.jaeger_ui_url, out=out)
    return 0


def run_trace(args: argparse.Namespace) -> int:
    """``zenith trace VIDEO_ID``: exit 0, or 1 when the video does not exist."""
    from zenith.storage.embedded import resolve_database_url

    settings = get_settings()
    return trace_report(settings, video_id=args.video_id, database_url=resolve_database_url(settings), out=sys.stdout)
