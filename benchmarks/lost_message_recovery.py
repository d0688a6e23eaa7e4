"""How long work whose broker messages were lost takes to resume, with the real clock.

    PYTHONPATH=. .venv/bin/python benchmarks/lost_message_recovery.py [--links 200]
        [--latency-ms 200] [--threads 4] [--resend-seconds 60] [--tick-seconds 5]
        [--redis-url redis://127.0.0.1:6379/0]

Creates a throwaway migrated database, starts the fake YouTube API (each answer delayed
``--latency-ms``), one gold creator with a verified channel and ``--links`` videos,
starts `zenith worker --queues submission parsing`, accepts the links through the
intake path the bot and the API use (`messaging.submissions.submit_link`: a 'received'
row each, then a wake-up), and once a tenth of them are stored deletes every key of the run's Redis
namespace: the queued and in-flight submit_video messages and the check_videos
messages already sent are gone. Then starts `zenith clock` with SUBMISSION_RESEND_SECONDS
= CHECK_RESEND_SECONDS = NOTICE_RESEND_SECONDS = ``--resend-seconds`` (default: the
product's 60) and CLOCK_TICK_SECONDS = ``--tick-seconds`` (default 5), and prints, from
the loss: when the clock re-sent the first lost submission, when the first re-sent one
was stored, when all were stored and when every video's first check was stored. Then
stops the processes, drops the database and deletes its Redis keys.
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
from pathlib import Path

import redis

from tests.conftest import create_migrated_database, drop_database
from tests.fakes import youtube as fake_youtube
from tests.fakes.server import run_in_thread
from zenith.config import load_settings
from zenith.messaging.broker import build_broker
from zenith.messaging.contract import send
from zenith.messaging.submissions import submit_link
from zenith.storage import accounts, users
from zenith.storage.db import fetch_one, open_pool, unit_of_work

REPO_ROOT = Path(__file__).resolve().parents[1]
CHANNEL = "UCbenchmarkLostMessages00"


async def seed(pool, *, links: int, yt_state) -> tuple[users.User, list[tuple[str, str]]]:
    async with unit_of_work(pool) as conn:
        user = await users.get_or_create(conn, telegram_id=int(time.time()), language="en")
        user = await users.set_tier(conn, user_id=user.id, tier="gold")
        account = await accounts.create_pending(
            conn,
            user_id=user.id,
            platform="youtube",
            handle="bench",
            verification_code="ZM-ABCDEFGH",
            external_id=CHANNEL,
        )
        await accounts.mark_verified(conn, account_id=account.id, external_id=CHANNEL)
    made = []
    for i in range(links):
        external = f"L{i:010d}"
        yt_state.add_video(external, views=20_000 + i, channel_id=CHANNEL)
        made.append((f"bench:{i}", f"https://www.youtube.com/watch?v={external}"))
    return user, made


async def counts(pool) -> dict[str, int]:
    async with pool.connection() as conn:
        row = await fetch_one(
            conn,
            """
            SELECT count(*) FILTER (WHERE status = 'stored') AS stored,
                   count(*) FILTER (WHERE status = 'stored' AND resends > 0) AS resent_stored,
                   count(*) FILTER (WHERE resends > 0) AS resent,
                   (SELECT count(*) FROM videos WHERE last_checked_at IS NOT NULL) AS checked
              FROM submissions
            """,
        )
    return {key: int(value) for key, value in row.items()}


def spawn(argv: list[str], env: dict[str, str]) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "zenith", *argv], cwd=REPO_ROOT, env={**os.environ, **env, "PYTHONPATH": str(REPO_ROOT)}
    )


async def run(args) -> None:
    namespace = f"bench-{uuid.uuid4().hex[:8]}"
    database_url = await asyncio.to_thread(create_migrated_database, "zenith_bench")
    yt_state = fake_youtube.FakeYouTubeState(response_delay=args.latency_ms / 1000)
    processes: list[subprocess.Popen] = []
    try:
        with run_in_thread(fake_youtube.build_app(yt_state), yt_state) as yt:
            env = {
                "DATABASE_URL": database_url,
                "REDIS_URL": args.redis_url,
                "REDIS_NAMESPACE": namespace,
                "YOUTUBE_API_KEY": yt_state.api_key,
                "YOUTUBE_API_URL": yt.url + "/youtube/v3",
                "ALLOW_PRIVATE_NETWORK": "true",
                "LOG_LEVEL": "WARNING",
                "SUBMISSION_RESEND_SECONDS": str(args.resend_seconds),
                "CHECK_RESEND_SECONDS": str(args.resend_seconds),
                "NOTICE_RESEND_SECONDS": str(args.resend_seconds),
                "CLOCK_TICK_SECONDS": str(args.tick_seconds),
            }
            settings = load_settings(env)
            pool = await open_pool(database_url, max_size=4)
            user, links = await seed(pool, links=args.links, yt_state=yt_state)
            processes.append(
                spawn(["worker", "--queues", "submission", "parsing", "--threads", str(args.threads)], env)
            )
            time.sleep(3)  # worker start-up is not part of the figure
            broker = build_broker(settings, redis_url=args.redis_url, namespace=namespace)

            async def wake(route, *message_args):
                return await asyncio.to_thread(send, route, *message_args, broker=broker)

            for request_id, url in links:
                await submit_link(
                    send=wake,
                    transaction=lambda: unit_of_work(pool),
                    settings=settings,
                    user=user,
                    link=url,
                    request_id=request_id,
                    source="benchmark",
                )
            while (await counts(pool))["stored"] < max(1, args.links // 10):
                await asyncio.sleep(0.05)
            client = redis.Redis.from_url(args.redis_url)
            for key in client.scan_iter(match=f"{namespace}:*", count=1000):
                client.delete(key)
            lost_at = time.monotonic()
            before = await counts(pool)
            print(
                f"Redis emptied: {args.links - before['stored']} of {args.links} accepted links not stored yet, "
                f"{before['checked']} videos checked"
            )
            processes.append(spawn(["clock"], env))
            marks: dict[str, float] = {}
            while time.monotonic() - lost_at < 30 * args.resend_seconds + 120:
                now = await counts(pool)
                elapsed = time.monotonic() - lost_at
                if now["resent"] and "resent" not in marks:
                    marks["resent"] = elapsed
                if now["resent_stored"] and "resent_stored" not in marks:
                    marks["resent_stored"] = elapsed
                if now["stored"] == args.links and "stored" not in marks:
                    marks["stored"] = elapsed
                if now["checked"] == args.links:
                    marks["checked"] = elapsed
                    break
                await asyncio.sleep(0.2)
            print(
                f"from the loss: first lost submission re-sent by the clock {marks.get('resent', float('nan')):.1f} s, "
                f"first re-sent one stored {marks.get('resent_stored', float('nan')):.1f} s, all {args.links} stored "
                f"{marks.get('stored', float('nan')):.1f} s, every first check stored {marks.get('checked', float('nan')):.1f} s "
                f"(resend thresholds {args.resend_seconds} s, clock tick {args.tick_seconds} s, platform latency {args.latency_ms} ms)"
            )
            broker.close()
            await pool.close()
    finally:
        for process in processes:
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
                try:
                    process.wait(timeout=30)
                except subprocess.TimeoutExpired:
                    process.kill()
                    process.wait()
        drop_database(database_url)
        client = redis.Redis.from_url(args.redis_url)
        for key in client.scan_iter(match=f"{namespace}:*", count=1000):
            client.delete(key)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--links", type=int, default=200)
    parser.add_argument("--latency-ms", type=int, default=200)
    parser.add_argument("--threads", type=int, default=4)
    parser.add_argument("--resend-seconds", type=int, default=60)
    parser.add_argument("--tick-seconds", type=float, default=5)
    parser.add_argument("--redis-url", default=os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/0"))
    asyncio.run(run(parser.parse_args()))


if __name__ == "__main__":
    main()
