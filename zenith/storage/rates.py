"""Exchange rates: every fetched rate is kept (audit history); payouts use the latest."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

import psycopg

from zenith.storage.db import fetch_all, fetch_one, fetch_row


@dataclass(frozen=True)
class Rate:
    id: int
    source: str  # asset, e.g. 'USDT'
    target: str  # fiat, e.g. 'RUB'
    rate: Decimal  # price of one `source` in `target`
    fetched_at: datetime
    provider: str


async def store(
    conn: psycopg.AsyncConnection,
    *,
    source: str,
    rate: Decimal,
    fetched_at: datetime,
    target: str = "RUB",
    provider: str = "cryptopay",
) -> Rate:
    """Record a fetched rate; raise ValueError unless ``rate`` is a positive Decimal."""
    if not isinstance(rate, Decimal) or not rate.is_finite() or rate <= 0:
        raise ValueError(f"rate must be a positive Decimal, got {rate!r}")
    row = await fetch_row(
        conn,
        "INSERT INTO exchange_rates (source, target, rate, fetched_at, provider) VALUES (%s, %s, %s, %s, %s) RETURNING *",
        (source.upper(), target.upper(), rate, fetched_at, provider),
    )
    return Rate(**row)


async def latest(conn: psycopg.AsyncConnection, *, source: str, target: str = "RUB") -> Rate | None:
    """The most recently fetched rate of ``source`` in ``target`` (check its age before use)."""
    row = await fetch_one(
        conn,
        "SELECT * FROM exchange_rates WHERE source = %s AND target = %s ORDER BY fetched_at DESC, id DESC LIMIT 1",
        (source.upper(), target.upper()),
    )
    return Rate(**row) if row else None


async def latest_all(conn: psycopg.AsyncConnection, *, target: str = "RUB") -> dict[str, Rate]:
    """The latest rate of every asset quoted in ``target``, by asset."""
    rows = await fetch_all(
        conn,
        """
        SELECT DISTINCT ON (source) * FROM exchange_rates
         WHERE target = %s ORDER BY source, fetched_at DESC, id DESC
        """,
        (target.upper(),),
    )
    return {row["source"]: Rate(**row) for row in rows}
