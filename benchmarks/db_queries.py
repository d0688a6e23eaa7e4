"""Plans and timings of the hot queries, run by the real repository functions at scale.

    PYTHONPATH=. .venv/bin/python benchmarks/db_queries.py [--users 50000] [--videos 500000]
        [--snapshots-per-video 3] [--repeat 5]

Loads a throwaway database (``benchmarks.scale_data``: 50,000 users, 500,000 videos,
1,500,000 snapshots, ~520,000 ledger transfers, 50,000 payouts by default), then calls
each hot repository function the way the bot, the clock and the actors call it, with
PostgreSQL's ``auto_explain`` (``log_analyze``) sending every statement's executed plan
back to this client. For each query prints: the median server execution time over
``--repeat`` calls, the median wall time of the Python call (driver and round trips
included), the plan's node types with their relations, and a warning for every
``Seq Scan`` on a table of more than 10,000 rows. Writes (claims, get_or_create,
record_check) run in a transaction that is rolled back, so every call sees the same
data. Drops the database at the end.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import sys
import time
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path
from typing import Any, Awaitable, Callable

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.scale_data import ScaleDatabase, load_average, scale_database  # noqa: E402
from zenith.storage import checks, ledger, payouts, rates, snapshots, users, videos  # noqa: E402
from zenith.storage.db import connect, fetch_all, fetch_one  # noqa: E402

BIG_TABLE_ROWS = 10_000


@dataclass
class PlanCapture:
    """Collects the auto_explain plans the server sends as LOG notices."""

    plans: list[dict[str, Any]] = field(default_factory=list)

    def __call__(self, diagnostic) -> None:
        text = diagnostic.message_primary or ""
        start = text.find("{")
        if "plan:" in text and start >= 0:
            self.plans.append(json.loads(text[start:]))


def plan_nodes(node: dict[str, Any]) -> list[tuple[str, str | None, str | None]]:
    """(node type, relation, index) of a plan node and all nodes below it."""
    found = [(node["Node Type"], node.get("Relation Name"), node.get("Index Name"))]
    for child in node.get("Plans", []):
        found += plan_nodes(child)
    return found


def describe(nodes: list[tuple[str, str | None, str | None]]) -> str:
    parts = []
    for kind, relation, index in nodes:
        if kind in (
            "Result",
            "Limit",
            "Sort",
            "Subquery Scan",
            "Unique",
            "Append",
            "HashAggregate",
            "Aggregate",
            "ModifyTable",
            "LockRows",
            "CTE Scan",
            "WindowAgg",
            "Materialize",
        ):
            continue
        parts.append(f"{kind}({index or relation})" if (index or relation) else kind)
    return ", ".join(dict.fromkeys(parts)) or "-"


async def measure(db: ScaleDatabase, *, repeat: int) -> None:
    """Run every hot query ``repeat`` times on the loaded database and print the table."""
    async with connect(db.url) as conn:
        sizes = {
            row["relname"]: row["n"]
            for row in await fetch_all(
                conn,
                "SELECT relname, reltuples::bigint AS n FROM pg_class WHERE relkind = 'r' AND relnamespace = 'public'::regnamespace",
            )
        }
        # an ordinary creator (about 10 videos) with a video being tracked
        row = await fetch_one(
            conn,
            "SELECT user_id, id FROM videos WHERE status = 'approved' AND user_id > %s ORDER BY user_id, id LIMIT 1",
            (db.users // 2,),
        )
        typical, approved = row["user_id"], row["id"]
        heavy = db.heavy_user_id  # 5,000+ videos
        now = datetime.now(timezone.utc)
        queries = hot_queries(
            typical=typical,
            heavy=heavy,
            approved=approved,
            now=now,
            telegram_id=db.telegram_id(typical),
            last_user=db.users,
        )
        capture = PlanCapture()
        conn.add_notice_handler(capture)
        for setting in (
            "LOAD 'auto_explain'",
            "SET auto_explain.log_min_duration = 0",
            "SET auto_explain.log_analyze = on",
            "SET auto_explain.log_format = json",
            "SET auto_explain.log_nested_statements = on",
            "SET client_min_messages = log",
        ):
            await conn.execute(setting)
        print(f"load average {load_average()}")
        print(f"{'query':38s} {'server ms':>9s} {'call ms':>8s}  plan")
        warnings = []
        for name, call in queries:
            server, wall, nodes = [], [], []
            for attempt in range(repeat + 1):  # the first call warms the caches
                capture.plans.clear()
                started = time.perf_counter()
                async with conn.transaction(force_rollback=True):
                    await call(conn)
                elapsed = (time.perf_counter() - started) * 1000
                if attempt == 0:
                    continue
                wall.append(elapsed)
                server.append(sum(plan["Plan"].get("Actual Total Time", 0) for plan in capture.plans))
                nodes = [n for plan in capture.plans for n in plan_nodes(plan["Plan"])]
            for kind, relation, _ in nodes:
                if kind == "Seq Scan" and sizes.get(relation, 0) > BIG_TABLE_ROWS:
                    warnings.append(f"{name}: Seq Scan on {relation} ({sizes[relation]:,} rows)")
            print(f"{name:38s} {statistics.median(server):9.2f} {statistics.median(wall):8.2f}  {describe(nodes)}")
        print(f"load average {load_average()}")
        for line in dict.fromkeys(warnings):
            print("SEQ SCAN:", line)
        if not warnings:
            print("no Seq Scan on a table over 10,000 rows")


def hot_queries(
    *, typical: int, heavy: int, approved: int, now: datetime, telegram_id: int, last_user: int
) -> list[tuple[str, Callable[[Any], Awaitable[Any]]]]:
    """(name, call) for each query the running system repeats; who calls it is in the name."""
    return [
        (
            "bot: users.get_or_create (existing)",
            lambda c: users.get_or_create(
                c, telegram_id=telegram_id, language="ru", username=f"creator{typical}", first_name=f"Creator {typical}"
            ),
        ),
        ("bot: ledger.balances", lambda c: ledger.balances(c, typical)),
        ("bot: ledger.history(10)", lambda c: ledger.history(c, typical, 10)),
        ("bot: ledger.history(10) heavy user", lambda c: ledger.history(c, heavy, 10)),
        ("bot: videos.list_for_user p1", lambda c: videos.list_for_user(c, user_id=typical, limit=5, offset=0)),
        ("bot: videos.list_for_user heavy p1", lambda c: videos.list_for_user(c, user_id=heavy, limit=5, offset=0)),
        (
            "bot: videos.list_for_user heavy p900",
            lambda c: videos.list_for_user(c, user_id=heavy, limit=5, offset=4500),
        ),
        ("bot: snapshots.list_for_video", lambda c: snapshots.list_for_video(c, video_id=approved)),
        ("bot: payouts.list_for_user", lambda c: payouts.list_for_user(c, user_id=typical)),
        ("bot: rates.latest", lambda c: rates.latest(c, source="USDT")),
        ("admin: videos.moderation_queue(5)", lambda c: videos.moderation_queue(c, limit=5)),
        ("admin: videos.count_with_status(pend)", lambda c: videos.count_with_status(c, status="pending_moderation")),
        ("admin: payouts.count_by_status(req)", lambda c: payouts.count_by_status(c, status="requested")),
        ("report: videos.count_by_status", lambda c: videos.count_by_status(c)),
        ("admin: payouts.list_by_status(req)", lambda c: payouts.list_by_status(c, status="requested", limit=5)),
        (
            "clock: claim_due_checks youtube 50",
            lambda c: videos.claim_due_checks(c, now=now, limit=50, platform="youtube"),
        ),
        (
            "clock: claim_due_checks tiktok 20",
            lambda c: videos.claim_due_checks(c, now=now, limit=20, platform="tiktok"),
        ),
        (
            "clock: claim_stale_checks youtube 50",
            lambda c: videos.claim_stale_checks(
                c, now=now, older_than=timedelta(minutes=15), limit=50, platform="youtube"
            ),
        ),
        (
            "clock: payouts.find_stuck_sending",
            lambda c: payouts.find_stuck_sending(c, updated_before=now - timedelta(minutes=2), limit=100),
        ),
        ("clock: payouts.list_by_status(appr)", lambda c: payouts.list_by_status(c, status="approved", limit=100)),
        ("parsing: videos.get_many(50)", lambda c: videos.get_many(c, list(range(approved, approved + 50)))),
        (
            "parsing: checks.record_check",
            lambda c: checks.record_check(
                c,
                video_id=approved,
                views=2_000_000,
                likes=1,
                comments=0,
                taken_at=now,
                earned_total=Decimal("130000.00"),
                next_check_at=now + timedelta(hours=1),
            ),
        ),
        ("notify: users.list_active_ids(500)", lambda c: users.list_active_ids(c, after_id=last_user // 2, limit=500)),
        ("gauges: users.count(active)", lambda c: users.count(c, status="active")),
    ]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--users", type=int, default=50_000)
    parser.add_argument("--videos", type=int, default=500_000)
    parser.add_argument("--snapshots-per-video", type=int, default=3)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    print(
        f"loading: {args.users} users, {args.videos} videos, {args.snapshots_per_video} snapshots/video ...", flush=True
    )
    with scale_database(users=args.users, videos=args.videos, snapshots_per_video=args.snapshots_per_video) as db:
        print(f"loaded in {sum(db.seconds.values()):.1f} s: " + ", ".join(f"{k} {v}" for k, v in db.counts.items()))
        asyncio.run(measure(db, repeat=args.repeat))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
