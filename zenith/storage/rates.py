"""Exchange rates: every fetched rate is kept (audit history); payouts use the latest."""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

import psycopg
from psycopg_pool import AsyncConnectionPool
from redis.asyncio import Redis
from redis.exceptions import RedisError

from zenith.storage.db import fetch_all, fetch_one, fetch_row

logger = logging.getLogger(__name__)


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


# -- the current rate, cached in Redis by the rates actor --------------------------------
# The actor stores each refreshed rate under ``{namespace}:rate:{ASSET}:{FIAT}`` for
# RATE_MAX_AGE_SECONDS; readers take it from there and fall back to the latest stored row
# when the key is gone or Redis is unreachable. Callers still check the age.


@dataclass(frozen=True)
class CachedRate:
    source: str
    target: str
    rate: Decimal
    fetched_at: datetime


def cache_key(namespace: str, *, source: str, target: str = "RUB") -> str:
    return f"{namespace}:rate:{source.upper()}:{target.upper()}"


async def cache_rate(
    redis: Redis, namespace: str, *, source: str, rate: Decimal, fetched_at: datetime, ttl: int, target: str = "RUB"
) -> None:
    """Put a freshly fetched rate in Redis for ``ttl`` seconds (Decimal kept as a string)."""
    value = json.dumps({"rate": str(rate), "fetched_at": fetched_at.isoformat()})
    await redis.set(cache_key(namespace, source=source, target=target), value, ex=max(1, ttl))


async def current(
    redis: Redis, pool: AsyncConnectionPool, namespace: str, *, source: str, target: str = "RUB"
) -> CachedRate | None:
    """The latest rate of ``source``: Redis first, else PostgreSQL; None when none was ever fetched."""
    try:
        cached = await redis.get(cache_key(namespace, source=source, target=target))
    except RedisError as exc:
        logger.warning("rate cache unavailable, reading %s from PostgreSQL (Redis: %s)", source.upper(), exc)
        cached = None
    if cached is not None:
        data = json.loads(cached)
        return CachedRate(
            source=source.upper(),
            target=target.upper(),
            rate=Decimal(data["rate"]),
            fetched_at=datetime.fromisoformat(data["fetched_at"]),
        )
    async with pool.connection() as conn:
        stored = await latest(conn, source=source, target=target)
    if stored is None:
        return None
    return CachedRate(source=stored.source, target=stored.target, rate=stored.rate, fetched_at=stored.fetched_at)
