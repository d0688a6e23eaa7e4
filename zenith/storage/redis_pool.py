"""Async Redis clients whose commands wait for a free connection instead of failing.

redis-py's default asyncio pool (100 connections in 8.x) raises ``MaxConnectionsError``
at once when every connection is busy, so a burst of concurrent work fails instead of
queueing. ``BlockingConnectionPool`` makes the command wait, up to ``wait_timeout``.
"""

from __future__ import annotations

from typing import Any

from redis.asyncio import BlockingConnectionPool, Redis

DEFAULT_MAX_CONNECTIONS = 64
DEFAULT_WAIT_TIMEOUT_SECONDS = 5.0


def blocking_redis(
    url: str,
    *,
    max_connections: int = DEFAULT_MAX_CONNECTIONS,
    wait_timeout: float = DEFAULT_WAIT_TIMEOUT_SECONDS,
    **connection_options: Any,
) -> Redis:
    """A client on ``url`` with a blocking pool; ``await client.aclose()`` closes the pool too.

    Parameters:
      url: redis:// or unix:// URL.
      max_connections: connections at most (default 64, setting REDIS_MAX_CONNECTIONS).
      wait_timeout: seconds a command waits for a free connection before redis-py raises
        ``ConnectionError("No connection available.")`` (default 5).
      connection_options: passed to each connection (``socket_timeout``,
        ``decode_responses``, ...).
    """
    if max_connections < 1:
        raise ValueError("max_connections must be >= 1")
    pool = BlockingConnectionPool.from_url(
        url, max_connections=max_connections, timeout=wait_timeout, **connection_options
    )
    return Redis.from_pool(pool)
