"""What a creator sees of themselves -- stats, latest transfers, pages of videos -- read through the cache.

The bot's /balance and video list use it now; an HTTP API reads the same functions.
All of a creator's cached values share one scope, ``creator:{user_id}``: every write that
changes any of them (a credit, a hold or its release, a payout and its reservation, a
new or re-checked video, a moderation decision, a tier or ban) calls ``invalidate`` after
its transaction commits, so a read never shows a balance older than the last committed
write (see ``zenith.storage.cache`` for why after commit is enough).
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from psycopg_pool import AsyncConnectionPool
from redis.asyncio import Redis

from zenith.storage import ledger, videos
from zenith.storage.cache import Cache, revive
from zenith.storage.db import fetch_one

DEFAULT_TTL_SECONDS = 60


@dataclass(frozen=True)
class CreatorStats:
    """One creator's figures: their videos, what the videos earned, and where the money is.

    ``held`` is what sits in the creator's hold account (growth an admin has to look at),
    0 when the deployment keeps no such account.
    """

    user_id: int
    videos: int
    views: int
    earned: Decimal
    held: Decimal
    available: Decimal
    reserved: Decimal
    paid_out: Decimal


def held_account(user_id: int) -> str:
    return f"user:{int(user_id)}:held"


async def load_stats(conn, user_id: int) -> CreatorStats:
    """The creator's stats straight from PostgreSQL (index lookups; no cache)."""
    row = await fetch_one(
        conn,
        """
        SELECT v.videos, v.views, v.earned,
          (SELECT balance FROM ledger_accounts WHERE key = %(available)s) AS available,
          (SELECT balance FROM ledger_accounts WHERE key = %(reserved)s) AS reserved,
          (SELECT balance FROM ledger_accounts WHERE key = %(held)s) AS held,
          (SELECT sum(amount) FROM ledger_transfers
            WHERE from_account = %(reserved)s AND to_account = %(payouts)s) AS paid_out
        FROM (SELECT count(*) AS videos, coalesce(sum(views), 0) AS views, coalesce(sum(credited), 0) AS earned
                FROM videos WHERE user_id = %(user)s) AS v
        """,
        {
            "user": user_id,
            "available": ledger.available_account(user_id),
            "reserved": ledger.reserved_account(user_id),
            "held": held_account(user_id),
            "payouts": ledger.PAYOUTS,
        },
    )
    zero = Decimal("0.00")
    return CreatorStats(
        user_id=user_id, videos=row["videos"], views=int(row["views"]), earned=row["earned"] + zero,
        held=row["held"] or zero, available=row["available"] or zero, reserved=row["reserved"] or zero,
        paid_out=row["paid_out"] or zero,
    )


class CreatorReads:
    """A creator's stats, transfers and video pages, cached per creator.

    Parameters:
      pool: the async PostgreSQL pool (every miss, and every read while Redis is down).
      redis: an async Redis client.
      prefix: key prefix of the cache, e.g. ``"zenith:cache:"``.
      ttl: seconds a cached value lives (CACHE_TTL_SECONDS; default 60).
    """

    def __init__(self, *, pool: AsyncConnectionPool, redis: Redis, prefix: str, ttl: int = DEFAULT_TTL_SECONDS) -> None:
        self.pool = pool
        self.cache = Cache(redis, prefix=prefix, ttl=ttl, name="creator")

    @staticmethod
    def scope(user_id: int) -> str:
        return f"creator:{int(user_id)}"

    async def creator_stats(self, user_id: int) -> CreatorStats:
        """Videos, views, earned, held, available, reserved and paid out of one creator."""

        async def load() -> CreatorStats:
            async with self.pool.connection() as conn:
                return await load_stats(conn, user_id)

        return revive(CreatorStats, await self.cache.read(self.scope(user_id), "stats", load))

    async def recent_transfers(self, user_id: int, limit: int) -> list[ledger.Transfer]:
        """The creator's latest ``limit`` ledger transfers, newest first."""

        async def load() -> list[ledger.Transfer]:
            async with self.pool.connection() as conn:
                return await ledger.history(conn, user_id, limit)

        rows = await self.cache.read(self.scope(user_id), f"transfers:{int(limit)}", load)
        return [revive(ledger.Transfer, row) for row in rows]

    async def video_page(self, user_id: int, *, limit: int, offset: int) -> videos.VideoPage:
        """One page of the creator's videos, newest first, with their total count."""

        async def load() -> videos.VideoPage:
            async with self.pool.connection() as conn:
                return await videos.list_for_user(conn, user_id=user_id, limit=limit, offset=offset)

        return revive(videos.VideoPage, await self.cache.read(self.scope(user_id), f"videos:{int(limit)}:{int(offset)}", load))

    async def invalidate(self, *user_ids: int) -> bool:
        """Forget what is cached of these creators; call it after the write's transaction committed."""
        return await self.cache.bump(*(self.scope(user_id) for user_id in user_ids))
