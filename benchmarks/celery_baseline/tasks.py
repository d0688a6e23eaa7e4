"""The stage-2 Celery task of the scaling plan, doing our unit of work for one video.

As the plan writes it: ``@app.task(bind=True, max_retries=3)``, ``asyncio.run(...)`` inside
the task, a retry after 60 s on any error, Redis as the broker, no result backend.
Because every task runs in a new event loop, nothing asyncio-bound (an asyncpg pool, an
aiohttp session) can outlive it: each task opens one asyncpg connection and one HTTP
session, the cheapest reading of the plan (its ``PostgresDatabase`` pool of 10-20
connections per task would be far slower).

Configured from the environment, so the worker process (``celery -A
benchmarks.celery_baseline.tasks worker``) and the sender agree:

  BASELINE_BROKER_URL      redis://127.0.0.1:6379/0
  BASELINE_KEY_PREFIX      prefix of every broker key in Redis (removed after the run)
  BASELINE_QUEUE           the queue of parse_video_task; notices go to BASELINE_QUEUE + "-notices"
  BASELINE_DATABASE_URL    the benchmark's throwaway database (``schema.SCHEMA``)
  BASELINE_YOUTUBE_URL     the YouTube Data API base, e.g. http://127.0.0.1:PORT/youtube/v3
  BASELINE_YOUTUBE_KEY     its API key
"""

from __future__ import annotations

import asyncio
import json
import os
from datetime import datetime, timezone
from decimal import ROUND_DOWN, Decimal

import aiohttp
import asyncpg
from celery import Celery

from benchmarks.celery_baseline.schema import RATE_PER_1000

QUEUE = os.environ.get("BASELINE_QUEUE", "zenith-baseline")
NOTICE_QUEUE = QUEUE + "-notices"  # nobody consumes it in the benchmark, as with our notifications queue
NOTICE_TASK = "zenithmedia.send_notice"
CENT = Decimal("0.01")

app = Celery("zenithmedia", broker=os.environ.get("BASELINE_BROKER_URL", "redis://127.0.0.1:6379/0"))
app.conf.update(
    task_default_queue=QUEUE,
    task_ignore_result=True,
    broker_transport_options={"global_keyprefix": os.environ.get("BASELINE_KEY_PREFIX", "zenith-baseline:")},
    broker_connection_retry_on_startup=True,
    worker_hijack_root_logger=False,
)


class VideoGone(Exception):
    """The API did not return the video."""


async def parse_youtube_video(session: aiohttp.ClientSession, external_id: str) -> dict[str, int]:
    """One ``videos.list`` call for one id: its view, like and comment counts."""
    params = {"part": "statistics", "id": external_id, "key": os.environ["BASELINE_YOUTUBE_KEY"]}
    async with session.get(os.environ["BASELINE_YOUTUBE_URL"] + "/videos", params=params) as response:
        response.raise_for_status()
        body = await response.json()
    items = body.get("items") or []
    if not items:
        raise VideoGone(external_id)
    statistics = items[0]["statistics"]
    return {key: int(statistics.get(f"{key[:-1]}Count", 0)) for key in ("views", "likes", "comments")}


async def check_video(video_id: int) -> str:
    """Fetch, store the snapshot, credit the growth and stage the notice in one transaction."""
    conn = await asyncpg.connect(os.environ["BASELINE_DATABASE_URL"])
    try:
        video = await conn.fetchrow("SELECT external_id, url FROM videos WHERE id = $1", video_id)
        async with aiohttp.ClientSession() as session:
            stats = await parse_youtube_video(session, video["external_id"])
        taken_at = datetime.now(timezone.utc)
        async with conn.transaction():
            row = await conn.fetchrow("SELECT user_id, credited FROM videos WHERE id = $1 FOR UPDATE", video_id)
            snapshot_id = await conn.fetchval(
                """
                INSERT INTO view_snapshots (video_id, views, likes, comments, taken_at) VALUES ($1, $2, $3, $4, $5)
                ON CONFLICT (video_id, taken_at) DO NOTHING RETURNING id
                """,
                video_id,
                stats["views"],
                stats["likes"],
                stats["comments"],
                taken_at,
            )
            if snapshot_id is None:
                return "replay"
            earned = (Decimal(stats["views"]) * RATE_PER_1000 / 1000).quantize(CENT, rounding=ROUND_DOWN)
            delta = max(Decimal("0.00"), earned - row["credited"])
            account = f"user:{row['user_id']}:available"
            if delta > 0:
                transfer = await conn.fetchval(
                    """
                    INSERT INTO ledger_transfers (from_account, to_account, amount, kind, idempotency_key, video_id, snapshot_id)
                    VALUES ('system:earnings', $1, $2, 'earning', $3, $4, $5)
                    ON CONFLICT (idempotency_key) DO NOTHING RETURNING id
                    """,
                    account,
                    delta,
                    f"earning:snapshot:{snapshot_id}",
                    video_id,
                    snapshot_id,
                )
                if transfer is not None:
                    await conn.execute(
                        "UPDATE ledger_accounts SET balance = balance + $2 WHERE key = $1", account, delta
                    )
            await conn.execute(
                """
                UPDATE videos SET views = $2, credited = credited + $3, last_checked_at = clock_timestamp()
                WHERE id = $1
                """,
                video_id,
                stats["views"],
                delta,
            )
            params = {"amount": str(delta), "url": video["url"], "views": stats["views"]}
            await conn.execute(
                """
                INSERT INTO notices (user_id, key, params, dedup_key) VALUES ($1, 'notify.video.credited', $2, $3)
                ON CONFLICT (dedup_key) DO NOTHING
                """,
                row["user_id"],
                json.dumps(params),
                f"credit:{video_id}:{snapshot_id}",
            )
        # the notification task lives with the bot's tasks; sent by name, as Celery allows
        app.send_task(NOTICE_TASK, args=(row["user_id"], "notify.video.credited", params), queue=NOTICE_QUEUE)
        return str(delta)
    finally:
        await conn.close()


@app.task(bind=True, max_retries=3)
def parse_video_task(self, video_id: int) -> str:
    try:
        return asyncio.run(check_video(video_id))
    except Exception as exc:
        # the plan's retry: again in 60 seconds
        raise self.retry(exc=exc, countdown=60) from exc
