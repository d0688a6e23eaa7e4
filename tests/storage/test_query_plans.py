"""The queries behind the bot's screens read what they show, not the whole table.

A modest data set (25,000 videos, 13,000 transfers, 2,000 payouts, a heavy creator with
3,000 videos and 3,000 transfers) is loaded once, vacuumed and analysed; each test runs
the repository function and inspects the plan PostgreSQL really executed (auto_explain).
"""

from __future__ import annotations

from dataclasses import dataclass

import psycopg
import pytest

from tests.conftest import create_migrated_database, drop_database
from tests.storage.plans import executed_plans
from zenith.storage import ledger, payouts, videos

USERS = 200
HEAVY_VIDEOS = 3_000
OTHER_VIDEOS = 22_000
PENDING_VIDEOS = 40
HEAVY_TRANSFERS = 3_000
OTHER_TRANSFERS = 10_000
PAYOUTS = 2_000
REQUESTED_PAYOUTS = 7


@dataclass(frozen=True)
class LoadedDatabase:
    url: str
    heavy_user_id: int


def _load(url: str) -> int:
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(
            "INSERT INTO users (telegram_id, first_name) SELECT 7000000000 + g, 'u' || g FROM generate_series(1, %s) g",
            (USERS,),
        )
        heavy = conn.execute("SELECT min(id) FROM users").fetchone()[0]
        conn.execute(
            """
            INSERT INTO ledger_accounts (key, user_id)
            SELECT 'user:' || id || ':' || side, id FROM users, (VALUES ('available'), ('reserved')) AS s(side)
            """
        )
        # the heavy creator's videos, then everybody else's; a few wait for moderation
        conn.execute(
            """
            INSERT INTO videos (platform, external_id, user_id, url, status, submitted_at)
            SELECT 'youtube', 'h' || g, %(heavy)s, 'https://youtu.be/h' || g, 'approved',
                   now() - make_interval(mins => g)
              FROM generate_series(1, %(n)s) g
            """,
            {"heavy": heavy, "n": HEAVY_VIDEOS},
        )
        conn.execute(
            """
            INSERT INTO videos (platform, external_id, user_id, url, status, submitted_at)
            SELECT 'tiktok', 'o' || g, %(heavy)s + 1 + g %% (%(users)s - 1), 'https://tiktok.com/v/o' || g,
                   CASE WHEN g <= %(pending)s THEN 'pending_moderation'
                        WHEN g %% 10 = 0 THEN 'rejected' ELSE 'approved' END,
                   now() - make_interval(secs => g)
              FROM generate_series(1, %(n)s) g
            """,
            {"heavy": heavy, "users": USERS, "pending": PENDING_VIDEOS, "n": OTHER_VIDEOS},
        )
        conn.execute(
            """
            INSERT INTO ledger_transfers (from_account, to_account, amount, kind, idempotency_key)
            SELECT 'system:earnings', 'user:' || %(heavy)s || ':available', 1.50, 'earning', 'h-earning-' || g
              FROM generate_series(1, %(n)s) g
            """,
            {"heavy": heavy, "n": HEAVY_TRANSFERS},
        )
        conn.execute(
            """
            INSERT INTO ledger_transfers (from_account, to_account, amount, kind, idempotency_key)
            SELECT 'system:earnings', 'user:' || (%(heavy)s + 1 + g %% (%(users)s - 1)) || ':available', 2.00, 'earning', 'o-earning-' || g
              FROM generate_series(1, %(n)s) g
            """,
            {"heavy": heavy, "users": USERS, "n": OTHER_TRANSFERS},
        )
        conn.execute(
            """
            INSERT INTO payouts (user_id, amount_rub, asset, status, spend_id)
            SELECT %(heavy)s + g %% %(users)s, 500, 'USDT',
                   CASE WHEN g <= %(requested)s THEN 'requested' ELSE 'paid' END, 'plan-test-' || g
              FROM generate_series(1, %(n)s) g
            """,
            {"heavy": heavy, "users": USERS, "requested": REQUESTED_PAYOUTS, "n": PAYOUTS},
        )
        # reserve/release between the heavy creator's own accounts, found by two branches
        conn.execute(
            """
            INSERT INTO ledger_transfers (from_account, to_account, amount, kind, idempotency_key)
            VALUES ('user:' || %(heavy)s || ':available', 'user:' || %(heavy)s || ':reserved', 5, 'reserve', 'h-reserve'),
                   ('user:' || %(heavy)s || ':reserved', 'user:' || %(heavy)s || ':available', 5, 'release', 'h-release')
            """,
            {"heavy": heavy},
        )
        conn.execute("VACUUM ANALYZE")
    return heavy


@pytest.fixture(scope="module")
def loaded():
    url = create_migrated_database("zenith_plans")
    try:
        yield LoadedDatabase(url=url, heavy_user_id=_load(url))
    finally:
        drop_database(url)


@pytest.fixture
async def conn(loaded):
    async with await psycopg.AsyncConnection.connect(loaded.url, autocommit=True) as connection:
        from psycopg.rows import dict_row

        connection.row_factory = dict_row
        yield connection


async def test_pending_moderation_count_uses_the_status_index(conn):
    async with executed_plans(conn) as plans:
        total = await videos.count_with_status(conn, status="pending_moderation")
    assert total == PENDING_VIDEOS
    assert plans.seq_scans() == []
    assert "videos_status_submitted" in plans.indexes()
    assert plans.rows_read("videos") == PENDING_VIDEOS


async def test_requested_payouts_count_uses_the_status_index(conn):
    async with executed_plans(conn) as plans:
        total = await payouts.count_by_status(conn, status="requested")
    assert total == REQUESTED_PAYOUTS
    assert plans.seq_scans() == []
    assert "payouts_status_created" in plans.indexes()
    with pytest.raises(ValueError):
        await payouts.count_by_status(conn, status="lost")


async def test_history_of_a_heavy_creator_reads_a_few_rows_per_branch(conn, loaded):
    async with executed_plans(conn) as plans:
        newest = await ledger.history(conn, loaded.heavy_user_id, 10)
    assert plans.seq_scans() == []
    assert plans.rows_read("ledger_transfers") <= 4 * 10  # not the creator's 3,000 transfers
    # the two transfers between the creator's own accounts are the newest, each listed once
    assert [t.kind for t in newest[:2]] == ["release", "reserve"]
    assert len({t.id for t in newest}) == len(newest) == 10
    assert [t.id for t in newest] == sorted((t.id for t in newest), reverse=True)


async def test_history_stays_on_the_account_indexes_once_its_statement_is_prepared(conn, loaded):
    # psycopg prepares a statement on its 5th run on a connection, and PostgreSQL may then
    # plan it once for any parameters: for this one, walking every transfer by id and
    # filtering by account (ledger_transfers_pkey) -- for a new creator, the whole table
    newcomer = loaded.heavy_user_id + USERS + 10  # no transfers at all
    for _ in range(12):
        assert await ledger.history(conn, newcomer, 10) == []
    async with executed_plans(conn) as plans:
        assert await ledger.history(conn, newcomer, 10) == []
    assert plans.indexes() == {"ledger_transfers_from", "ledger_transfers_to"}
    assert plans.rows_examined("ledger_transfers") == 0  # of 13,000


async def test_history_keyset_pages_cover_every_transfer_once(conn, loaded):
    seen: list[int] = []
    before = None
    while True:
        page = await ledger.history(conn, loaded.heavy_user_id, 500, before_id=before)
        if not page:
            break
        seen += [t.id for t in page]
        before = page[-1].id
    assert len(seen) == len(set(seen)) == HEAVY_TRANSFERS + 2
    assert seen == sorted(seen, reverse=True)


def test_history_is_plain_text_built_from_integers_only():
    query, params = ledger.history_statement(42, 10, before_id=7)
    assert params is None  # nothing for psycopg to compose or split at each call
    assert "'user:42:available'" in query and "'user:42:reserved'" in query
    assert "id < 7 " in query and query.count("LIMIT 10") == 5
    for bad in ({"user_id": "42' OR '1'='1"}, {"before_id": "7; DROP TABLE users"}, {"limit": "10 OR 1=1"}):
        with pytest.raises((ValueError, TypeError)):
            ledger.history_statement(**{"user_id": 42, "limit": 10, **bad})


async def test_video_page_reads_only_its_own_rows_from_the_table(conn, loaded):
    async with executed_plans(conn) as plans:
        deep = await videos.list_for_user(conn, user_id=loaded.heavy_user_id, limit=5, offset=2_500)
    assert deep.total == HEAVY_VIDEOS
    assert [v.external_id for v in deep.items] == [f"h{n}" for n in range(2_501, 2_506)]
    assert plans.seq_scans() == []
    # the skipped 2,500 come from the index alone; the table gives only the page
    assert plans.table_rows_read("videos") <= 5
    first = await videos.list_for_user(conn, user_id=loaded.heavy_user_id, limit=5)
    assert [v.external_id for v in first.items] == ["h1", "h2", "h3", "h4", "h5"]
    past_the_end = await videos.list_for_user(conn, user_id=loaded.heavy_user_id, limit=5, offset=HEAVY_VIDEOS)
    assert past_the_end.items == [] and past_the_end.total == HEAVY_VIDEOS
