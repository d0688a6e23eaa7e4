"""Cost of the clock's due-batch selection at 100,000 and 1,000,000 videos (data loaded with COPY).

    PYTHONPATH=. .venv/bin/python benchmarks/due_batch.py [--sizes 100000,1000000] [--repeat 5]
        [--due-share 0.10] [--tiktok-share 0.10]

For each size: a throwaway migrated database, creators and videos streamed in with
``COPY ... FROM STDIN`` (one creator per 20 videos; 80 % of the videos approved, the
rest pending, rejected or finished; ``--tiktok-share`` of them TikTok; of the approved
YouTube videos ``--due-share`` are due now -- a backlog, as after a quota outage --
while almost no TikTok video is; 0.5 % of the approved videos carry a claim older than
15 minutes, i.e. a lost message), then ``VACUUM ANALYZE``.

Then the real repository calls the clock makes each tick -- ``videos.claim_due_checks``
and ``videos.claim_stale_checks`` per platform, with the clock's batch sizes -- each in a
transaction rolled back afterwards, with ``auto_explain`` (``log_analyze``) returning the
executed plan: prints the median server execution time (ms) over ``--repeat`` calls and
the plan. Every query runs twice: with the indexes of the schema (``ours``) and with
the seed's indexes on ``next_check_at`` / ``check_enqueued_at`` alone (``seed``), put
back in place of ours for that measurement in the same run. Drops the database at the end.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import statistics
import sys
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

import psycopg

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.db_queries import PlanCapture, describe, plan_nodes  # noqa: E402
from benchmarks.scale_data import load_average  # noqa: E402
from tests.conftest import create_migrated_database, drop_database  # noqa: E402
from zenith.storage import videos  # noqa: E402
from zenith.storage.db import connect  # noqa: E402

VIDEOS_PER_USER = 20
TELEGRAM_ID_BASE = 7_000_000_000
SEED_INDEXES = (
    "CREATE INDEX seed_due_checks ON videos (next_check_at) WHERE status = 'approved' AND check_enqueued_at IS NULL",
    "CREATE INDEX seed_enqueued_checks ON videos (check_enqueued_at) WHERE status = 'approved' AND check_enqueued_at IS NOT NULL",
)
OUR_INDEXES = ("videos_due_checks_by_platform", "videos_enqueued_checks_by_platform")


def load(url: str, *, count: int, due_share: float, tiktok_share: float, now: datetime) -> dict[str, int]:
    """COPY ``count`` videos (and their creators) into the empty database at ``url``."""
    rng = random.Random(count)
    users = max(1, count // VIDEOS_PER_USER)
    stats = {"approved": 0, "due youtube": 0, "due tiktok": 0, "stale": 0}
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("SET synchronous_commit = off")
        with conn.cursor().copy("COPY users (telegram_id, first_name, language) FROM STDIN") as copy:
            for user in range(1, users + 1):
                copy.write_row((TELEGRAM_ID_BASE + user, f"Creator {user}", "ru"))
        columns = "platform, external_id, user_id, url, status, next_check_at, check_enqueued_at, submitted_at"
        with conn.cursor().copy(f"COPY videos ({columns}) FROM STDIN") as copy:
            for video in range(1, count + 1):
                platform = "tiktok" if rng.random() < tiktok_share else "youtube"
                draw = rng.random()
                status = (
                    "approved"
                    if draw < 0.8
                    else "pending_moderation"
                    if draw < 0.9
                    else "rejected"
                    if draw < 0.95
                    else "finished"
                )
                next_check, enqueued = None, None
                if status == "approved":
                    stats["approved"] += 1
                    due = rng.random() < (due_share if platform == "youtube" else due_share / 1000)
                    next_check = (
                        now - timedelta(seconds=rng.uniform(1, 3600))
                        if due
                        else now + timedelta(seconds=rng.uniform(60, 86_400))
                    )
                    if rng.random() < 0.005:
                        enqueued = now - timedelta(minutes=rng.uniform(16, 120))
                        stats["stale"] += 1
                    elif due:
                        stats[f"due {platform}"] += 1
                copy.write_row(
                    (
                        platform,
                        f"v{video:011d}",
                        1 + video % users,
                        f"https://example.invalid/{video}",
                        status,
                        next_check,
                        enqueued,
                        now - timedelta(days=rng.uniform(0, 30)),
                    )
                )
        conn.execute("VACUUM ANALYZE")
    return stats


async def measure(url: str, *, repeat: int, now: datetime) -> dict[tuple[str, str], tuple[float, str]]:
    """(query, indexes) -> (median server ms, plan), for our indexes and the seed's."""
    calls = (
        ("claim_due_checks youtube 50", lambda c: videos.claim_due_checks(c, now=now, limit=50, platform="youtube")),
        ("claim_due_checks tiktok 20", lambda c: videos.claim_due_checks(c, now=now, limit=20, platform="tiktok")),
        (
            "claim_stale_checks youtube 50",
            lambda c: videos.claim_stale_checks(
                c, now=now, older_than=timedelta(minutes=15), limit=50, platform="youtube"
            ),
        ),
        (
            "claim_stale_checks tiktok 20",
            lambda c: videos.claim_stale_checks(
                c, now=now, older_than=timedelta(minutes=15), limit=20, platform="tiktok"
            ),
        ),
    )
    results = {}
    async with connect(url) as conn:
        capture = PlanCapture()
        conn.add_notice_handler(capture)
        for setting in (
            "LOAD 'auto_explain'",
            "SET auto_explain.log_min_duration = 0",
            "SET auto_explain.log_analyze = on",
            "SET auto_explain.log_format = json",
            "SET client_min_messages = log",
        ):
            await conn.execute(setting)
        for indexes in ("ours", "seed"):
            if indexes == "seed":  # the seed's indexes instead of ours, for this measurement only
                for statement in SEED_INDEXES:
                    await conn.execute(statement)
                for name in OUR_INDEXES:
                    await conn.execute(f"DROP INDEX {name}")
                await conn.execute("ANALYZE videos")
            for name, call in calls:
                server, nodes = [], []
                for attempt in range(repeat + 1):  # the first call warms the caches
                    capture.plans.clear()
                    async with conn.transaction(force_rollback=True):
                        await call(conn)
                    if attempt:
                        server.append(sum(plan["Plan"].get("Actual Total Time", 0) for plan in capture.plans))
                        nodes = [n for plan in capture.plans for n in plan_nodes(plan["Plan"])]
                results[(name, indexes)] = (statistics.median(server), describe(nodes))
    return results


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=lambda raw: [int(p) for p in raw.split(",")], default=[100_000, 1_000_000])
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--due-share", type=float, default=0.10, help="share of approved YouTube videos due now")
    parser.add_argument("--tiktok-share", type=float, default=0.10)
    args = parser.parse_args()
    now = datetime.now(timezone.utc)
    for size in args.sizes:
        url = create_migrated_database("zenith_due")
        try:
            started = time.perf_counter()
            stats = load(url, count=size, due_share=args.due_share, tiktok_share=args.tiktok_share, now=now)
            print(
                f"{size:,} videos loaded with COPY in {time.perf_counter() - started:.1f} s "
                f"({', '.join(f'{k} {v:,}' for k, v in stats.items())}); load average {load_average()}",
                flush=True,
            )
            results = asyncio.run(measure(url, repeat=args.repeat, now=now))
            print(f"{'videos':>9s}  {'query':32s} {'ours ms':>8s} {'seed ms':>8s} {'seed/ours':>9s}  plan (ours)")
            for name in dict.fromkeys(key[0] for key in results):
                ours, plan = results[(name, "ours")]
                seed, _ = results[(name, "seed")]
                print(f"{size:9,d}  {name:32s} {ours:8.2f} {seed:8.2f} {seed / max(ours, 0.001):8.1f}x  {plan}")
            print(f"load average {load_average()}", flush=True)
        finally:
            drop_database(url)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
