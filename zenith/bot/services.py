"""What handlers need from the outside world, with a deadline on every call.

Handlers receive one `BotServices` as ``services`` (dispatcher data). Every database block
and every message sent to the broker runs under ``asyncio.timeout``: a slow database or
broker makes the handler give up with ``TimeoutError`` (the errors router answers
"busy, try again") instead of leaving the creator waiting.
"""

from __future__ import annotations

import asyncio
from contextlib import asynccontextmanager
from dataclasses import dataclass
from functools import cached_property
from typing import Any, AsyncIterator

import dramatiq
import psycopg
from psycopg_pool import AsyncConnectionPool
from redis.asyncio import Redis

from zenith.bot.contacts import SenderReads
from zenith.bot.user_rows import UserRows
from zenith.config import Settings
from zenith.domain.earnings import EarningsPolicy
from zenith.domain.tiers import TierPolicy
from zenith.messaging.contract import Route, send
from zenith.storage.creator_reads import CreatorReads
from zenith.storage.db import unit_of_work


@dataclass
class BotServices:
    """The bot's connections and settings.

    Parameters:
      settings: the process settings.
      pool: the async PostgreSQL pool.
      redis: async Redis client (throttling, update de-duplication, FSM, status, cache).
      broker: the Dramatiq broker messages are sent through.
      send_timeout: seconds one broker send may take (default 5).
      user_rows: senders' users rows kept in memory (None: every update reads its sender).
    """

    settings: Settings
    pool: AsyncConnectionPool
    redis: Redis
    broker: dramatiq.Broker
    send_timeout: float = 5.0
    user_rows: UserRows | None = None

    @property
    def redis_prefix(self) -> str:
        return f"{self.settings.redis_namespace}:bot"

    @cached_property
    def db_timeout(self) -> float:
        """Seconds one database block may take: DATABASE_DEADLINE_SECONDS (default 5)."""
        return float(self.settings.database_deadline_seconds)

    @cached_property
    def earnings(self) -> EarningsPolicy:
        """The earnings rules from RATE_PER_1000_RUB, RATE_CARD, MIN_VIEWS, caps."""
        s = self.settings
        return EarningsPolicy.from_values(
            rate_per_1000=s.rate_per_1000_rub,
            rate_card=s.rate_card,
            min_views=s.min_views,
            cap=s.video_cap_rub,
            fixed_amount=s.fixed_amount_per_video_rub,
        )

    @cached_property
    def creator_reads(self) -> CreatorReads:
        """A creator's stats, transfers and video pages through the Redis cache (PostgreSQL when it is down)."""
        return CreatorReads(
            pool=self.pool,
            redis=self.redis,
            prefix=f"{self.settings.redis_namespace}:cache:",
            ttl=self.settings.cache_ttl_seconds,
            load_timeout=self.db_timeout,
        )

    @cached_property
    def sender_reads(self) -> SenderReads:
        """Senders' users rows read (and marked seen) together per burst of updates, under the deadline."""
        return SenderReads(pool=self.pool, timeout=self.db_timeout)

    def tier_policy(self, tier: str) -> TierPolicy:
        return TierPolicy.for_tier(tier, gold_auto_payout_limit_rub=self.settings.gold_auto_payout_limit_rub)

    def is_admin(self, telegram_id: int) -> bool:
        return telegram_id in self.settings.admin_ids

    @asynccontextmanager
    async def read(self) -> AsyncIterator[psycopg.AsyncConnection]:
        """An autocommit connection for reads, under the database deadline."""
        async with asyncio.timeout(self.db_timeout):
            async with self.pool.connection() as conn:
                yield conn

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[psycopg.AsyncConnection]:
        """One transaction (``unit_of_work``) under the database deadline."""
        async with asyncio.timeout(self.db_timeout):
            async with unit_of_work(self.pool) as conn:
                yield conn

    async def send(self, route: Route, *args: Any, **kwargs: Any) -> dramatiq.Message[Any]:
        """Send a message without blocking the event loop (Dramatiq's enqueue is synchronous).

        The thread inherits the current context, so the send span joins the update's trace.
        """
        async with asyncio.timeout(self.send_timeout):
            return await asyncio.to_thread(send, route, *args, broker=self.broker, **kwargs)
