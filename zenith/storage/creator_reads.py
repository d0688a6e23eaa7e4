"""What a creator sees of themselves -- stats, latest transfers, pages of videos -- read through the cache.

The bot's /balance and video list use it now; an HTTP API reads the same functions.
All of a creator's cached values share one scope, ``creator:{user_id}``: every write that
changes any of them (a credit, a hold or its release, a payout and its reservation, a
new or re-checked video, a moderation decision, a tier or ban) calls ``invalidate`` after
its transaction commits, so a read never shows a balance older than the last committed
write (see ``zenith.storage.cache`` for why after commit is enough).
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass

from psycopg_pool import AsyncConnectionPool
from redis.asyncio import Redis

from zenith.storage import creator_campaigns, ledger, videos
from zenith.storage import creator_stats as stats_store
from zenith.storage.cache import Cache, revive
from zenith.storage.creator_stats import CreatorStats
from zenith.storage.db import fetch_all_together
from zenith.storage.turn_batch import TurnBatch

DEFAULT_TTL_SECONDS = 60
DEFAULT_LOAD_TIMEOUT_SECONDS = 10.0


@dataclass(frozen=True)
class VideoCampaign:
    """The campaign a video of the history was submitted to (neither changes once set)."""

    video_id: int
    name: str


@dataclass(frozen=True)
class Balance:
    """What /balance shows: the creator's stats, their latest transfers (newest first) and
    the campaign of each video among them."""

    stats: CreatorStats
    transfers: list[ledger.Transfer]
    campaigns: list[VideoCampaign]

    def campaign_names(self) -> dict[int, str]:
        """video id -> its campaign's name."""
        return {campaign.video_id: campaign.name for campaign in self.campaigns}


class CreatorReads:
    """A creator's stats, transfers and video pages, cached per creator.

    Parameters:
      pool: the async PostgreSQL pool (every miss, and every read while Redis is down).
      redis: an async Redis client.
      prefix: key prefix of the cache, e.g. ``"zenith:cache:"``.
      ttl: seconds a cached value lives (CACHE_TTL_SECONDS; default 60).
      load_timeout: seconds one batch of balance misses may take (the caller's deadline
        bounds its own wait; this frees the batch's connection when PostgreSQL hangs).
    """

    def __init__(
        self,
        *,
        pool: AsyncConnectionPool,
        redis: Redis,
        prefix: str,
        ttl: int = DEFAULT_TTL_SECONDS,
        load_timeout: float = DEFAULT_LOAD_TIMEOUT_SECONDS,
    ) -> None:
        self.pool = pool
        self.cache = Cache(redis, prefix=prefix, ttl=ttl, name="creator")
        self._balances = _BalanceLoads(pool, timeout=load_timeout)

    @staticmethod
    def scope(user_id: int) -> str:
        return f"creator:{int(user_id)}"

    async def creator_stats(self, user_id: int) -> CreatorStats:
        """Videos, views, earned, held, available, reserved and paid out of one creator
        (``zenith.storage.creator_stats``: one statement, one snapshot)."""

        async def load() -> CreatorStats:
            async with self.pool.connection() as conn:
                return await stats_store.creator_stats(conn, user_id)

        return revive(CreatorStats, await self.cache.read(self.scope(user_id), "stats", load))

    async def balance(self, user_id: int, limit: int) -> Balance:
        """Stats, the latest ``limit`` transfers and their videos' campaigns as one cached
        value: a hit is one Redis call and no query; the misses of one burst of readers are
        loaded together (`_BalanceLoads`)."""

        async def load() -> Balance:
            balance: Balance = await self._balances.call((int(user_id), int(limit)))
            return balance

        return revive(Balance, await self.cache.read(self.scope(user_id), f"balance:{int(limit)}", load))

    async def video_page(self, user_id: int, *, limit: int, offset: int) -> videos.VideoPage:
        """One page of the creator's videos, newest first, with their total count."""

        async def load() -> videos.VideoPage:
            async with self.pool.connection() as conn:
                return await videos.list_for_user(conn, user_id=user_id, limit=limit, offset=offset)

        return revive(
            videos.VideoPage, await self.cache.read(self.scope(user_id), f"videos:{int(limit)}:{int(offset)}", load)
        )

    async def invalidate(self, *user_ids: int) -> bool:
        """Forget what is cached of these creators; call it after the write's transaction committed."""
        return await self.cache.bump(*(self.scope(user_id) for user_id in user_ids))


class _BalanceLoads(TurnBatch[tuple[int, int]]):
    """The /balance misses of one loop turn, (user id, history limit) each, from one pool
    connection: every creator's stats and history in one pipeline, then the campaign
    names of all their videos in one statement.

    After a credit run or a restart many creators' first /balance misses at once; one
    connection and two round trips for the burst cost far less CPU than two round trips
    and a connection per creator.
    """

    def __init__(self, pool: AsyncConnectionPool, *, timeout: float) -> None:
        super().__init__()
        self.pool = pool
        self.timeout = timeout

    async def run_batch(self, items: Sequence[tuple[int, int]]) -> list[Balance]:
        async with asyncio.timeout(self.timeout), self.pool.connection() as conn:
            statements = []
            for user_id, limit in items:
                statements += [stats_store.stats_statement(user_id), ledger.history_statement(user_id, limit)]
            rows = await fetch_all_together(conn, statements)
            read = [
                (stats_store.stats_from_row(rows[2 * i][0]), ledger.history_from_rows(rows[2 * i + 1]))
                for i in range(len(items))
            ]
            video_ids = sorted({t.video_id for _, transfers in read for t in transfers if t.video_id is not None})
            names = await creator_campaigns.names_for_videos(conn, video_ids)
        balances = []
        for stats, transfers in read:
            own_videos = sorted({t.video_id for t in transfers if t.video_id is not None and t.video_id in names})
            balances.append(
                Balance(
                    stats=stats,
                    transfers=transfers,
                    campaigns=[VideoCampaign(video_id, names[video_id]) for video_id in own_videos],
                )
            )
        return balances
