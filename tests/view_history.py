"""Test helpers over a video's stored history: make an approved video, wait for its next
snapshot, and move its past back in time so the worker sees hours pass between checks."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta

from zenith.storage import videos
from zenith.storage.db import fetch_one, unit_of_work


async def approved_video(pool, user, platform: str, external_id: str, *, published_at: datetime) -> videos.Video:
    async with unit_of_work(pool) as conn:
        video, _ = await videos.insert(
            conn,
            platform=platform,
            external_id=external_id,
            user_id=user.id,
            request_id=uuid.uuid4().hex,
            url=f"https://youtu.be/{external_id}"
            if platform == "youtube"
            else f"https://www.tiktok.com/@creator/video/{external_id}",
            status="approved",
            published_at=published_at,
        )
    return video


async def snapshot_count(pool, video_id: int) -> int:
    async with pool.connection() as conn:
        return (await fetch_one(conn, "SELECT count(*) AS n FROM view_snapshots WHERE video_id = %s", (video_id,)))["n"]


async def let_time_pass(pool, video_id: int, hours: float) -> None:
    """Move the video's stored past (snapshots, dates, holds) back by ``hours``, as if that long went by."""
    shift = timedelta(hours=hours)
    async with unit_of_work(pool) as conn:
        await conn.execute("UPDATE view_snapshots SET taken_at = taken_at - %s WHERE video_id = %s", (shift, video_id))
        await conn.execute(
            """
            UPDATE videos SET submitted_at = submitted_at - %(s)s, published_at = published_at - %(s)s,
                   last_checked_at = last_checked_at - %(s)s, status_changed_at = status_changed_at - %(s)s
             WHERE id = %(id)s
            """,
            {"s": shift, "id": video_id},
        )
        await conn.execute("UPDATE trust_holds SET created_at = created_at - %s WHERE video_id = %s", (shift, video_id))
