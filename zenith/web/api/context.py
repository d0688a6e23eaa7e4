"""What the API's handlers need: settings, the database pool, Redis and the broker, each with a deadline."""

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

from zenith.config import Settings
from zenith.messaging.contract import Route, send
from zenith.storage.creator_reads import CreatorReads
from zenith.storage.db import unit_of_work


@dataclass
class ApiContext:
    """The web process's connections as the API uses them.

    Parameters:
      settings: the process settings (API_RATE_LIMIT_PER_MINUTE, API_MAX_BODY_BYTES, ...).
      pool: the async PostgreSQL pool.
      redis: async Redis client (per-key rate limits).
      broker: the Dramatiq broker submissions are sent through.
      send_timeout: seconds one broker send may take (default 5).
    """

    settings: Settings
    pool: AsyncConnectionPool
    redis: Redis
    broker: dramatiq.Broker
    send_timeout: float = 5.0

    @property
    def redis_prefix(self) -> str:
        return f"{self.settings.redis_namespace}:api"

    @cached_property
    def db_timeout(self) -> float:
        """Seconds one database block may take: DATABASE_DEADLINE_SECONDS (default 5); beyond, 503 unavailable."""
        return float(self.settings.database_deadline_seconds)

    @cached_property
    def creator_reads(self) -> CreatorReads:
        """Creators' stats and video pages through the Redis cache the bot shares (PostgreSQL when it is down)."""
        return CreatorReads(
            pool=self.pool,
            redis=self.redis,
            prefix=f"{self.settings.redis_namespace}:cache:",
            ttl=self.settings.cache_ttl_seconds,
        )

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

    async def send(self, route: Route, *args: Any) -> dramatiq.Message:
        """Send a message without blocking the event loop (Dramatiq's enqueue is synchronous)."""
        async with asyncio.timeout(self.send_timeout):
            return await asyncio.to_thread(send, route, *args, broker=self.broker)
