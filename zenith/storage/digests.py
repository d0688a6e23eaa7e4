"""Daily earnings digests: what each of a creator's videos earned since the last digest.

A digest covers the creator's earning transfers (``ledger_transfers`` of kind
'earning', by video) with ids up to a mark the caller fixes once per run, and after the
last mark a previous digest covered; the very first one covers the last day. Recording
a digest (``record``) is one row per creator and day: a second run on the same day
records nothing, so the notice staged with it goes out once.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal

import psycopg

from zenith.storage.db import fetch_all, fetch_one, fetch_row


@dataclass(frozen=True)
class VideoEarning:
    video_id: int
    url: str
    title: str | None
    amount: Decimal


async def settled_mark(conn: psycopg.AsyncConnection, *, before: datetime) -> int:
    """The id of the newest earning transfer created before ``before`` (0: none).

    Ids are handed out before a transaction commits, so a digest only counts transfers
    old enough that every transaction holding a smaller id has long finished.
    """
    row = await fetch_row(
        conn,
        "SELECT coalesce(max(id), 0) AS mark FROM ledger_transfers WHERE kind = 'earning' AND created_at < %s",
        (before,),
    )
    return int(row["mark"])


async def creators_due(
    conn: psycopg.AsyncConnection, *, day: date, mark: int, first_since: datetime, limit: int = 500
) -> list[int]:
    """Creators with earnings not covered yet up to ``mark``, no digest on ``day`` and not opted out."""
    rows = await fetch_all(
        conn,
        """
        SELECT DISTINCT v.user_id
          FROM ledger_transfers t
          JOIN videos v ON v.id = t.video_id
          LEFT JOIN LATERAL (
                SELECT covers_until_id FROM earnings_digests d
                 WHERE d.user_id = v.user_id ORDER BY covers_until_id DESC LIMIT 1
          ) last ON true
         WHERE t.kind = 'earning' AND t.id <= %(mark)s
           AND t.id > coalesce(last.covers_until_id, 0)
           AND (last.covers_until_id IS NOT NULL OR t.created_at >= %(first_since)s)
           AND NOT EXISTS (SELECT 1 FROM earnings_digests e WHERE e.user_id = v.user_id AND e.day = %(day)s)
           AND NOT EXISTS (SELECT 1 FROM earnings_digest_optouts o WHERE o.user_id = v.user_id)
         ORDER BY v.user_id
         LIMIT %(limit)s
        """,
        {"mark": mark, "first_since": first_since, "day": day, "limit": limit},
    )
    return [row["user_id"] for row in rows]


async def earnings_since_last(
    conn: psycopg.AsyncConnection, *, user_id: int, mark: int, first_since: datetime
) -> list[VideoEarning]:
    """What each video of ``user_id`` earned after the last digest, up to ``mark``; biggest first."""
    rows = await fetch_all(
        conn,
        """
        SELECT v.id AS video_id, v.url, v.title, sum(t.amount) AS amount
          FROM ledger_transfers t
          JOIN videos v ON v.id = t.video_id
         WHERE v.user_id = %(user)s AND t.kind = 'earning' AND t.id <= %(mark)s
           AND t.id > coalesce((SELECT max(covers_until_id) FROM earnings_digests WHERE user_id = %(user)s), 0)
           AND (EXISTS (SELECT 1 FROM earnings_digests WHERE user_id = %(user)s) OR t.created_at >= %(first_since)s)
         GROUP BY v.id, v.url, v.title
         ORDER BY amount DESC, v.id
        """,
        {"user": user_id, "mark": mark, "first_since": first_since},
    )
    return [VideoEarning(row["video_id"], row["url"], row["title"], row["amount"]) for row in rows]


async def record(conn: psycopg.AsyncConnection, *, user_id: int, day: date, mark: int) -> bool:
    """Record ``user_id``'s digest of ``day`` covering transfers up to ``mark``; False if it exists."""
    row = await fetch_one(
        conn,
        "INSERT INTO earnings_digests (user_id, day, covers_until_id) VALUES (%s, %s, %s) ON CONFLICT (user_id, day) DO NOTHING RETURNING user_id",
        (user_id, day, mark),
    )
    return row is not None


async def set_enabled(conn: psycopg.AsyncConnection, *, user_id: int, enabled: bool) -> None:
    """Turn ``user_id``'s daily digest on or off (off: credits are announced as they come)."""
    if enabled:
        await conn.execute("DELETE FROM earnings_digest_optouts WHERE user_id = %s", (user_id,))
    else:
        await conn.execute(
            "INSERT INTO earnings_digest_optouts (user_id) VALUES (%s) ON CONFLICT (user_id) DO NOTHING", (user_id,)
        )


async def is_enabled(conn: psycopg.AsyncConnection, *, user_id: int) -> bool:
    """False when ``user_id`` turned the digest off."""
    row = await fetch_one(conn, "SELECT 1 AS off FROM earnings_digest_optouts WHERE user_id = %s", (user_id,))
    return row is None


async def opted_out(conn: psycopg.AsyncConnection, user_ids: list[int]) -> set[int]:
    """Which of ``user_ids`` turned the digest off (``is_enabled`` for many)."""
    rows = await fetch_all(
        conn, "SELECT user_id FROM earnings_digest_optouts WHERE user_id = ANY(%b)", (sorted(set(user_ids)),)
    )
    return {row["user_id"] for row in rows}
