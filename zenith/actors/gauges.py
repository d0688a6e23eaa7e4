"""Gauges no message sets: queue depths and active creators, sampled by the clock.

The clock runs exactly once per deployment, so its /metrics is the one place these
gauges live (a per-worker copy would be scraped N times with N different ages).
"""

from __future__ import annotations

import asyncio
import logging
import time
from datetime import datetime, timedelta, timezone

from redis.exceptions import RedisError

from zenith.actors.runtime import Runtime
from zenith.storage import users
from zenith.telemetry.metrics import ZenithMetrics, get_metrics

logger = logging.getLogger(__name__)

# Counting (an index range scan of users_last_seen) is cheap but pointless every tick;
# queue depths change fast.
ACTIVE_USERS_EVERY_SECONDS = 60.0
ACTIVE_WINDOW = timedelta(hours=24)


class GaugeSampler:
    """Sets ``queue_depth{queue}`` on every call and ``active_users`` (creators who wrote to
    the bot in the last 24 h) at most once a minute.

    Parameters:
      runtime(Runtime): Settings (broker/Redis URL, namespace) and the database pool.
      metrics(ZenithMetrics|None): Where to set the gauges. Default: ``get_metrics()``.
      active_users_every(float): Seconds between two counts of active users. Default 60.
    """

    def __init__(
        self,
        runtime: Runtime,
        *,
        metrics: ZenithMetrics | None = None,
        active_users_every: float = ACTIVE_USERS_EVERY_SECONDS,
    ) -> None:
        self.runtime = runtime
        self.metrics = metrics or get_metrics()
        self.active_users_every = active_users_every
        self._users_sampled_at: float | None = None

    async def sample(self) -> None:
        """Sample what is due; a failure is logged and the gauges keep their last values."""
        await self._queue_depths()
        now = time.monotonic()
        if self._users_sampled_at is None or now - self._users_sampled_at >= self.active_users_every:
            self._users_sampled_at = now
            await self._active_users()

    async def _queue_depths(self) -> None:
        from zenith.supervisor.status import queue_depths, redis_queue_depths

        settings = self.runtime.settings
        if (settings.broker_url or "").startswith(("amqp://", "amqps://")):
            depths, note = await asyncio.to_thread(queue_depths, settings, namespace=self.runtime.namespace)
        else:
            # the process's Redis pool: a new connection per tick added up to thousands per run
            try:
                depths, note = (
                    await redis_queue_depths(await self.runtime.broker_redis(), namespace=self.runtime.namespace),
                    None,
                )
            except (RedisError, OSError) as exc:
                depths, note = {}, f"queue depths unknown: Redis unreachable ({exc})"
        if note:
            logger.warning("queue_depth not sampled: %s", note)
        for queue, depth in depths.items():
            self.metrics.queue_depth.labels(queue=queue).set(depth)

    async def _active_users(self) -> None:
        pool = await self.runtime.db()
        since = datetime.now(timezone.utc) - ACTIVE_WINDOW
        async with pool.connection() as conn:
            # creators who wrote to the bot in the window and may still earn (not banned, not blocking it)
            self.metrics.active_users.set(await users.count_seen_since(conn, since=since))
