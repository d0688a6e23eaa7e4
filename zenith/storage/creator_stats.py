"""A creator's figures in one read: videos, views, earned, held, available, reserved, paid out."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

import psycopg

from zenith.storage.db import fetch_one
from zenith.storage.ledger import EARNINGS, available_account, balances


@dataclass(frozen=True)
class CreatorStats:
    videos: int
    views: int
    earned: Decimal
    held: Decimal
    available: Decimal
    reserved: Decimal
    paid_out: Decimal


def held_account(user_id: int) -> str:
    """Where growth under review waits, when the ledger keeps such an account for the user."""
    return f"user:{int(user_id)}:held"


async def creator_stats(conn: psycopg.AsyncConnection, user_id: int) -> CreatorStats:
    """The creator's figures; money from the ledger, counts from the videos.

    ``earned`` is every earning credited from ``system:earnings`` (held or available);
    ``held`` is the balance of ``user:{id}:held``, 0 when the ledger keeps no such account.
    Read on one connection; run it in a REPEATABLE READ transaction for one snapshot.
    """
    row = await fetch_one(
        conn,
        """
        SELECT
          (SELECT count(*) FROM videos WHERE user_id = %(user)s) AS videos,
          (SELECT coalesce(sum(views), 0) FROM videos WHERE user_id = %(user)s) AS views,
          (SELECT coalesce(sum(amount), 0) FROM ledger_transfers
            WHERE to_account = ANY(%(earning_accounts)s) AND from_account = %(earnings)s) AS earned,
          (SELECT balance FROM ledger_accounts WHERE key = %(held)s) AS held
        """,
        {
            "user": user_id,
            "earning_accounts": [available_account(user_id), held_account(user_id)],
            "earnings": EARNINGS,
            "held": held_account(user_id),
        },
    )
    money = await balances(conn, user_id)
    zero = Decimal("0.00")
    return CreatorStats(
        videos=row["videos"],
        views=int(row["views"]),
        earned=Decimal(row["earned"]).quantize(Decimal("0.01")),
        held=row["held"] or zero,
        available=money.available,
        reserved=money.reserved,
        paid_out=money.paid_out,
    )
