"""Videos checked per second by a real `zenith worker` process against the local fakes.

    PYTHONPATH=. .venv/bin/python benchmarks/parsing_throughput.py [--youtube 2000] [--tiktok 500]
        [--threads 4] [--latency-ms 50] [--redis-url redis://127.0.0.1:6379/0]

Creates a throwaway migrated database (as tests/conftest.py does), starts the fake
YouTube Data API and the fake TikTok (each answer delayed ``--latency-ms`` to look like
a real network), stores that many approved, due videos of one gold creator, starts one
`python -m zenith worker --queues parsing` process, runs one clock tick (which claims
the due videos and sends check_videos messages: 50 YouTube ids / 20 TikTok ids each)
and waits until every video has a stored check. Prints videos/s per platform and in
total, and the platform calls made; then stops the worker, drops the database and
deletes its Redis keys.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import signal
import subprocess
import sys
import time
import uuid
from datetime import datetime, timedelta, timezone
from pathlib import Path

import redis
from aiohttp import web

from tests.conftest import create_migrated_database, drop_database
from tests.fakes import tiktok as fake_tiktok
from tests.fakes import youtube as fake_youtube
from tests.fakes.server import run_in_thread
from zenith.actors.clock import tick
from zenith.actors.runtime import Runtime
from zenith.config import load_settings
from zenith.messaging.broker import build_broker
from zenith.storage import accounts, users, videos
from zenith.storage.db import fetch_all, open_pool, unit_of_work

REPO_ROOT = Path(__file__).resolve().parents[1]


def with_latency(app: web.Application, latency_ms: int) -> web.Application:
    @web.middleware
    async def slow(request, handler):
        await asyncio.sleep(latency_ms / 1000)
        return await handler(request)

    app.middlewares.append(slow)
    return app


async def seed(pool, *, youtube: int, tiktok: int, yt_state, tt_state) -> dict[str, list[int]]:
    async with unit_of_work(pool) as conn:
        user = await users.get_or_create(conn, telegram_id=int(time.time()), language="en")
        user = await users.set_tier(conn, user_id=user.id, tier="gold")
        yt = await accounts.create_pending(
            conn,
            user_id=user.id,
            platform="youtube",
            handle="bench",
            verification_code="ZM-ABCDEFGH",
            external_id="UCbenchmark",
        )
        tt = await accounts.create_pending(
            conn,
            user_id=user.id,
            platform="tiktok",
            handle="creator",
            verification_code="ZM-ABCDEFGH",
            external_id="6800000000000000001",
        )
        ids: dict[str, list[int]] = {"youtube": [], "tiktok": []}
        due = datetime.now(timezone.utc) - timedelta(minutes=1)
        for platform, count, account in (("youtube", youtube, yt), ("tiktok", tiktok, tt)):
            for i in range(count):
                external = f"b{i:010d}" if platform == "youtube" else f"7{i:018d}"
                if platform == "youtube":
                    yt_state.add_video(external, views=1_000 + i, channel_id="UCbenchmark")
                else:
                    tt_state.add_video(external, views=1_000 + i, author="creator")
                video, _ = await videos.insert(
                    conn,
                    platform=platform,
                    external_id=external,
                    user_id=user.id,
                    url=f"https://x/{external}",
                    request_id=uuid.uuid4().hex,
                    account_id=account.id,
                    status="approved",
                    next_check_at=due,
                )
                ids[platform].append(video.id)
    return ids


async def checked_at(pool, ids: list[int]) -> list[datetime]:
    async with pool.connection() as conn:
        rows = await fetch_all(
            conn, "SELECT last_checked_at FROM videos WHERE id = ANY(%s) AND last_checked_at IS NOT NULL", (ids,)
        )
    return [row["last_checked_at"] for row in rows]


async def run(args) -> None:
    namespace = f"bench-{uuid.uuid4().hex[:8]}"
    database_url = await asyncio.to_thread(create_migrated_database, "zenith_bench")
    yt_state, tt_state = fake_youtube.FakeYouTubeState(), fake_tiktok.FakeTikTokState()
    worker = None
    try:
        with (
            run_in_thread(with_latency(fake_youtube.build_app(yt_state), args.latency_ms), yt_state) as yt,
            run_in_thread(with_latency(fake_tiktok.build_app(tt_state), args.latency_ms), tt_state) as tt,
        ):
            env = {
                "DATABASE_URL": database_url,
                "REDIS_URL": args.redis_url,
                "REDIS_NAMESPACE": namespace,
                "YOUTUBE_API_KEY": yt_state.api_key,
                "YOUTUBE_API_URL": yt.url + "/youtube/v3",
                "TIKTOK_BASE_URL": tt.url,
                "ALLOW_PRIVATE_NETWORK": "true",
                "LOG_LEVEL": "WARNING",
                "DATABASE_POOL_MAX": "10",
            }
            settings = load_settings(env)
            pool = await open_pool(database_url, max_size=4)
            ids = await seed(pool, youtube=args.youtube, tiktok=args.tiktok, yt_state=yt_state, tt_state=tt_state)
            worker = subprocess.Popen(
                [sys.executable, "-m", "zenith", "worker", "--queues", "parsing", "--threads", str(args.threads)],
                cwd=REPO_ROOT,
                env={**os.environ, **env, "PYTHONPATH": str(REPO_ROOT)},
            )
            time.sleep(3)  # worker start-up is not part of the figure
            broker = build_broker(settings, redis_url=args.redis_url, namespace=namespace)
            runtime = Runtime(settings, broker=broker, database_url=database_url, redis_url=args.redis_url)
            started = datetime.now(timezone.utc)
            await tick(started, runtime=runtime)
            tick_seconds = (datetime.now(timezone.utc) - started).total_seconds()
            everything = ids["youtube"] + ids["tiktok"]
            while len(await checked_at(pool, everything)) < len(everything):
                if worker.poll() is not None:
                    raise SystemExit(f"worker exited with {worker.returncode}")
                await asyncio.sleep(0.2)
            for platform, platform_ids in ids.items():
                if not platform_ids:
                    continue
                last = max(await checked_at(pool, platform_ids))
                seconds = (last - started).total_seconds()
                print(
                    f"{platform:8s} {len(platform_ids):6d} videos in {seconds:6.2f} s = {len(platform_ids) / seconds:7.1f} videos/s"
                )
            last = max(await checked_at(pool, everything))
            if args.timeline:
                seconds_in = sorted(int((at - started).total_seconds()) for at in await checked_at(pool, everything))
                print("checked per second since the tick:", [seconds_in.count(s) for s in range(seconds_in[-1] + 1)])
            total = (last - started).total_seconds()
            print(
                f"{'total':8s} {len(everything):6d} videos in {total:6.2f} s = {len(everything) / total:7.1f} videos/s "
                f"(worker threads {args.threads}, platform latency {args.latency_ms} ms)"
            )
            print(f"the clock's tick claimed and sent them in {tick_seconds:.2f} s")
            print(
                f"YouTube videos.list calls: {len(yt_state.ids_per_call('videos'))} (max ids per call "
                f"{max((len(c) for c in yt_state.ids_per_call('videos')), default=0)}); TikTok page loads: {len(tt_state.calls)}"
            )
            await runtime.close()
            broker.close()
            await pool.close()
    finally:
        if worker is not None and worker.poll() is None:
            worker.send_signal(signal.SIGTERM)
            try:
                worker.wait(timeout=30)
            except subprocess.TimeoutExpired:
                worker.kill()
                worker.wait()
        drop_database(database_url)
        client = redis.Redis.from_url(args.redis_url)
        for key in client.scan_iter(match=f"{namespace}:*", count=1000):
            client.delete(key)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--youtube", type=int, default=2000)
    parser.add_argument("--tiktok", type=int, default=500)
    parser.add_argument("--threads", type=int, default=4)
    parser.add_argument("--latency-ms", type=int, default=50)
    parser.add_argument("--timeline", action="store_true", help="print the videos checked in each second")
    parser.add_argument("--redis-url", default=os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/0"))
    asyncio.run(run(parser.parse_args()))


if __name__ == "__main__":
    main()
