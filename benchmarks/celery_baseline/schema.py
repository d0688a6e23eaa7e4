"""The baseline's tables: videos, snapshots, a double-entry ledger and a notice outbox.

The same shape as ours where the unit of work touches it: a snapshot is unique per
(video, taken_at), a transfer per idempotency key, a notice per dedup key, and a user
account keeps a cached balance that may not go below zero.
"""

from __future__ import annotations

from decimal import Decimal

import asyncpg

SCHEMA = """
CREATE TABLE videos (
    id              bigserial PRIMARY KEY,
    user_id         bigint NOT NULL,
    platform        text NOT NULL,
    external_id     text NOT NULL,
    url             text NOT NULL,
    views           bigint NOT NULL DEFAULT 0,
    credited        numeric(14, 2) NOT NULL DEFAULT 0,
    last_checked_at timestamptz,
    UNIQUE (platform, external_id)
);
CREATE TABLE view_snapshots (
    id       bigserial PRIMARY KEY,
    video_id bigint NOT NULL REFERENCES videos (id),
    views    bigint NOT NULL,
    likes    bigint NOT NULL,
    comments bigint NOT NULL,
    taken_at timestamptz NOT NULL,
    UNIQUE (video_id, taken_at)
);
CREATE TABLE ledger_accounts (
    key     text PRIMARY KEY,
    balance numeric(14, 2) CHECK (balance >= 0)  -- NULL: a system account, balance derived
);
CREATE TABLE ledger_transfers (
    id              bigserial PRIMARY KEY,
    from_account    text NOT NULL REFERENCES ledger_accounts (key),
    to_account      text NOT NULL REFERENCES ledger_accounts (key),
    amount          numeric(14, 2) NOT NULL CHECK (amount > 0),
    kind            text NOT NULL,
    idempotency_key text NOT NULL UNIQUE,
    video_id        bigint,
    snapshot_id     bigint,
    created_at      timestamptz NOT NULL DEFAULT now()
);
CREATE TABLE notices (
    id         bigserial PRIMARY KEY,
    user_id    bigint NOT NULL,
    key        text NOT NULL,
    params     jsonb NOT NULL,
    dedup_key  text NOT NULL UNIQUE,
    created_at timestamptz NOT NULL DEFAULT now()
);
INSERT INTO ledger_accounts (key, balance) VALUES ('system:earnings', NULL);
"""

RATE_PER_1000 = Decimal("10.00")  # rubles per 1,000 views: what a video has earned in all


async def create(dsn: str, *, user_id: int, external_ids: list[str]) -> list[int]:
    """Create the tables and one creator's videos; return the videos' ids."""
    conn = await asyncpg.connect(dsn)
    try:
        await conn.execute(SCHEMA)
        await conn.execute("INSERT INTO ledger_accounts (key, balance) VALUES ($1, 0)", f"user:{user_id}:available")
        rows = await conn.fetch(
            """
            INSERT INTO videos (user_id, platform, external_id, url)
            SELECT $1, 'youtube', e, 'https://youtu.be/' || e FROM unnest($2::text[]) AS e
            RETURNING id
            """,
            user_id,
            external_ids,
        )
        return sorted(row["id"] for row in rows)
    finally:
        await conn.close()


async def ledger_balanced(dsn: str) -> bool:
    """The books add up: every user's cached balance equals the sum of its transfers."""
    conn = await asyncpg.connect(dsn)
    try:
        wrong = await conn.fetchval(
            """
            SELECT count(*) FROM ledger_accounts a
            WHERE a.balance IS NOT NULL AND a.balance <>
                coalesce((SELECT sum(amount) FROM ledger_transfers WHERE to_account = a.key), 0)
              - coalesce((SELECT sum(amount) FROM ledger_transfers WHERE from_account = a.key), 0)
            """
        )
        return wrong == 0
    finally:
        await conn.close()
