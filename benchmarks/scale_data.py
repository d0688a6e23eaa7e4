"""A throwaway database filled to production scale, for the benchmarks that need one.

    from benchmarks.scale_data import scale_database
    with scale_database(users=50_000, videos=500_000, snapshots_per_video=4) as db:
        db.url, db.counts, db.seconds, db.telegram_id(user_id), db.heavy_user_id

Creates a migrated database (``tests.conftest.create_migrated_database``), bulk-loads it
with server-side ``INSERT ... SELECT generate_series`` (one statement per table, foreign
key triggers off for the load, then ``ANALYZE``) and drops it on the way out.

The data looks like a running system:
- users: ``users`` creators, telegram ids ``TELEGRAM_ID_BASE + id``; 10 % gold, 1 %
  banned, 3 % inactive; each with their available/reserved ledger accounts.
- videos: ``videos`` rows; the first ``HEAVY_USER_VIDEOS`` belong to user 1 (a heavy
  creator, to page through), the rest are spread evenly. By position in the creator's
  list: 5 % pending moderation, 5 % rejected, 5 % failed, 25 % approved (re-checks
  spread over the next 24 h, about 0.7 % due now, 0.1 % claimed 30 min ago and never
  stored), 60 % finished.
- view_snapshots: ``snapshots_per_video`` per video, an hour apart.
- ledger_transfers: one earning per approved/finished video; one payout per such user
  with its reservation and its settlement (paid, 80 %) or release (failed/rejected); cached
  user balances equal to their transfers, so ``zenith ledger check`` passes.
- payouts: one per user who earned at least 500 RUB (with ~10 videos a user, all of
  them): 80 % paid, 7 % failed, 5 % rejected, 5 % requested, 2 % approved, 1 % sending.
"""

from __future__ import annotations

import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Iterator

import psycopg

from tests.conftest import create_migrated_database, drop_database

TELEGRAM_ID_BASE = 5_000_000_000
HEAVY_USER_VIDEOS = 5_000
PAYOUT_AMOUNT_RUB = "500.00"

# Each statement gets %(users)s, %(videos)s, %(snapshots)s.
LOAD_STATEMENTS: tuple[tuple[str, str], ...] = (
    (
        "users",
        """
        INSERT INTO users (id, telegram_id, username, first_name, language, tier, status, created_at, updated_at)
        SELECT g, %(telegram_base)s + g, 'creator' || g, 'Creator ' || g,
               CASE WHEN g %% 3 = 0 THEN 'en' ELSE 'ru' END,
               CASE WHEN g %% 10 = 0 THEN 'gold' ELSE 'bronze' END,
               CASE WHEN g %% 100 = 7 THEN 'banned' WHEN g %% 100 IN (11, 12, 13) THEN 'inactive' ELSE 'active' END,
               now() - (g %% 365) * interval '1 day', now() - (g %% 30) * interval '1 day'
          FROM generate_series(1, %(users)s) AS g
    """,
    ),
    (
        "ledger_accounts",
        """
        INSERT INTO ledger_accounts (key, user_id, balance)
        SELECT 'user:' || u || ':' || side, u, 0
          FROM generate_series(1, %(users)s) AS u, unnest(ARRAY['available', 'reserved']) AS side
    """,
    ),
    (
        "videos",
        """
        INSERT INTO videos (id, platform, external_id, user_id, url, title, status, status_reason, views, credited,
                            next_check_at, check_enqueued_at, last_checked_at, submitted_at, request_id, trace_id)
        SELECT g, v.platform, v.external_id, v.user_id, 'https://example.invalid/' || v.external_id, 'Video ' || g,
               v.status, CASE WHEN v.status IN ('rejected', 'failed') THEN 'benchmark' END,
               CASE WHEN v.credited THEN 10000 + g %% 90000 ELSE 0 END,
               CASE WHEN v.credited THEN 100 + g %% 50 ELSE 0 END,
               CASE WHEN v.status = 'approved' THEN now() + ((g %% 1440) - 10) * interval '1 minute' END,
               CASE WHEN v.status = 'approved' AND g %% 1000 = 1 THEN now() - interval '30 minutes' END,
               CASE WHEN v.credited THEN now() - interval '1 hour' END,
               now() - (g %% 60) * interval '1 day' - (g %% 86400) * interval '1 second',
               'bench:' || g, lpad(to_hex(g), 32, '0')
          FROM generate_series(1, %(videos)s) AS g,
               LATERAL (SELECT CASE WHEN g <= %(heavy)s THEN 1 ELSE 1 + g %% %(users)s END AS user_id) AS u,
               LATERAL (SELECT CASE WHEN g <= %(heavy)s THEN g %% 20 ELSE ((g / %(users)s) + u.user_id) %% 20 END AS slot) AS s,
               LATERAL (SELECT
                   CASE WHEN g %% 3 = 0 THEN 'tiktok' ELSE 'youtube' END AS platform,
                   CASE WHEN g %% 3 = 0 THEN '7' || lpad(g::text, 18, '0') ELSE 'v' || lpad(g::text, 10, '0') END AS external_id,
                   u.user_id,
                   CASE WHEN s.slot = 0 THEN 'pending_moderation' WHEN s.slot = 1 THEN 'rejected'
                        WHEN s.slot = 2 THEN 'failed' WHEN s.slot < 8 THEN 'approved' ELSE 'finished' END AS status,
                   s.slot >= 3 AS credited) AS v
    """,
    ),
    (
        "view_snapshots",
        """
        INSERT INTO view_snapshots (video_id, views, likes, comments, taken_at)
        SELECT g, 1000 * k + g %% 1000, k, 0, now() - interval '7 days' + k * interval '1 hour'
          FROM generate_series(1, %(videos)s) AS g, generate_series(1, %(snapshots)s) AS k
    """,
    ),
    (
        "payouts",
        """
        INSERT INTO payouts (id, user_id, amount_rub, asset, asset_amount, rate, rate_fetched_at, status,
                             failure_reason, spend_id, request_id, attempts, created_at, updated_at)
        SELECT g, g, %(payout)s::numeric, 'USDT', 5.5, 90.9, now(), p.status,
               CASE WHEN p.status = 'failed' THEN 'USER_NOT_FOUND' END,
               'zenith-payout-' || g, 'withdraw:' || g, CASE WHEN p.status IN ('paid', 'failed', 'sending') THEN 1 ELSE 0 END,
               now() - (g %% 30) * interval '1 day', now() - (g %% 30) * interval '1 day' + interval '5 minutes'
          FROM (SELECT user_id AS g FROM videos GROUP BY user_id HAVING sum(credited) >= %(payout)s::numeric) AS earned,
               LATERAL (SELECT CASE WHEN g %% 100 < 80 THEN 'paid' WHEN g %% 100 < 87 THEN 'failed'
                                    WHEN g %% 100 < 92 THEN 'rejected' WHEN g %% 100 < 97 THEN 'requested'
                                    WHEN g %% 100 < 99 THEN 'approved' ELSE 'sending' END AS status) AS p
    """,
    ),
    (
        "ledger_transfers",
        """
        INSERT INTO ledger_transfers (from_account, to_account, amount, kind, idempotency_key, video_id, payout_id, created_at)
        SELECT 'system:earnings', 'user:' || user_id || ':available', credited, 'earning',
               'earning:video:' || id, id, NULL, submitted_at + interval '1 hour'
          FROM videos WHERE credited > 0
        UNION ALL
        SELECT 'user:' || user_id || ':available', 'user:' || user_id || ':reserved', amount_rub, 'reserve',
               'payout:' || id || ':reserve', NULL, id, created_at
          FROM payouts
        UNION ALL
        SELECT 'user:' || user_id || ':reserved',
               CASE WHEN status = 'paid' THEN 'system:payouts' ELSE 'user:' || user_id || ':available' END,
               amount_rub, CASE WHEN status = 'paid' THEN 'payout' ELSE 'release' END,
               'payout:' || id || CASE WHEN status = 'paid' THEN ':settle' ELSE ':release' END, NULL, id, updated_at
          FROM payouts WHERE status IN ('paid', 'failed', 'rejected')
        ORDER BY 8
    """,
    ),
    (
        "balances",
        """
        UPDATE ledger_accounts a SET balance = t.balance
          FROM (SELECT key, sum(amount) AS balance FROM (
                    SELECT to_account AS key, amount FROM ledger_transfers
                    UNION ALL SELECT from_account, -amount FROM ledger_transfers) AS m
                 WHERE key LIKE 'user:%%' GROUP BY key) AS t
         WHERE a.key = t.key
    """,
    ),
    (
        "exchange_rates",
        """
        INSERT INTO exchange_rates (source, target, rate, fetched_at)
        SELECT asset, 'RUB', 90 + k %% 7, now() - k * interval '5 minutes'
          FROM unnest(ARRAY['USDT', 'TON']) AS asset, generate_series(0, 2000) AS k
    """,
    ),
    (
        "sequences",
        """
        SELECT setval('users_id_seq', (SELECT max(id) FROM users)),
               setval('videos_id_seq', (SELECT max(id) FROM videos)),
               setval('payouts_id_seq', (SELECT max(id) FROM payouts))
    """,
    ),
)


@dataclass
class ScaleDatabase:
    """A loaded database: ``url``, rows per table (``counts``), load seconds per table."""

    url: str
    users: int
    counts: dict[str, int] = field(default_factory=dict)
    seconds: dict[str, float] = field(default_factory=dict)
    heavy_user_id: int = 1

    @staticmethod
    def telegram_id(user_id: int) -> int:
        """The Telegram id of a loaded user."""
        return TELEGRAM_ID_BASE + user_id

    @staticmethod
    def first_name(telegram_id: int) -> str:
        """The first name a loaded user has in the books: what their Telegram account sends,
        so their first message is that of a returning creator, not a rename."""
        return f"Creator {telegram_id - TELEGRAM_ID_BASE}"


def load(url: str, *, users: int, videos: int, snapshots_per_video: int) -> ScaleDatabase:
    """Fill a freshly migrated database; returns what was loaded and how long it took.

    Parameters:
      url: a migrated, empty database.
      users: creators to create (at least 20).
      videos: videos to create (at least ``HEAVY_USER_VIDEOS``).
      snapshots_per_video: view snapshots per video (0 for none).
    """
    if users < 20 or videos < HEAVY_USER_VIDEOS:
        raise ValueError(f"need at least 20 users and {HEAVY_USER_VIDEOS} videos")
    params = {
        "users": users,
        "videos": videos,
        "snapshots": snapshots_per_video,
        "heavy": HEAVY_USER_VIDEOS,
        "telegram_base": TELEGRAM_ID_BASE,
        "payout": PAYOUT_AMOUNT_RUB,
    }
    db = ScaleDatabase(url=url, users=users)
    with psycopg.connect(url, autocommit=True) as conn:
        # generated rows are consistent by construction: skip the per-row FK checks
        conn.execute("SET session_replication_role = replica")
        conn.execute("SET synchronous_commit = off")
        conn.execute("SET maintenance_work_mem = '256MB'")
        for table, sql in LOAD_STATEMENTS:
            started = time.perf_counter()
            cursor = conn.execute(sql, params)
            db.seconds[table] = time.perf_counter() - started
            if cursor.rowcount and cursor.rowcount > 0 and table not in ("sequences",):
                db.counts[table] = cursor.rowcount
        started = time.perf_counter()
        conn.execute("VACUUM ANALYZE")
        db.seconds["vacuum_analyze"] = time.perf_counter() - started
    return db


@contextmanager
def scale_database(
    *, users: int = 50_000, videos: int = 500_000, snapshots_per_video: int = 4, prefix: str = "zenith_bench"
) -> Iterator[ScaleDatabase]:
    """A migrated database loaded by ``load``; dropped when the block ends (even on error)."""
    url = create_migrated_database(prefix)
    try:
        yield load(url, users=users, videos=videos, snapshots_per_video=snapshots_per_video)
    finally:
        drop_database(url)


def load_average() -> str:
    """The 1/5/15-minute load averages, for printing beside every figure."""
    with open("/proc/loadavg") as f:
        return " ".join(f.read().split()[:3])
