"""Who is calling: the API key from the Authorization header, its scope, its rate limit."""

from __future__ import annotations

import logging
import time

from redis.asyncio import Redis
from redis.exceptions import RedisError

from zenith.domain.api_keys import Scope
from zenith.storage import api_keys
from zenith.web.api.context import ApiContext
from zenith.web.api.errors import ApiError

logger = logging.getLogger(__name__)

RATE_WINDOW_SECONDS = 60
# longest header value read as a key; a real key is 56 characters
MAX_KEY_LENGTH = 200


def presented_key(authorization: str | None, x_api_key: str | None) -> str:
    """The key from ``Authorization: Bearer <key>`` (or ``X-API-Key``); ApiError when there is none."""
    if authorization:
        scheme, _, value = authorization.strip().partition(" ")
        if scheme.lower() == "bearer" and value.strip():
            return value.strip()[:MAX_KEY_LENGTH]
        raise ApiError("invalid_api_key")
    if x_api_key and x_api_key.strip():
        return x_api_key.strip()[:MAX_KEY_LENGTH]
    raise ApiError("missing_api_key")


async def authenticate(context: ApiContext, plaintext: str, *, needed: Scope) -> api_keys.ApiKey:
    """The active key ``plaintext`` if its scope allows ``needed``; ApiError otherwise.

    Looked up on every request (one index read), so a revoked key stops at once.
    """
    async with context.read() as conn:
        key = await api_keys.find_active(conn, plaintext)
    if key is None:
        raise ApiError("invalid_api_key")
    if not key.scope.allows(needed):
        raise ApiError("insufficient_scope", params={"scope": key.scope.value, "needed": needed.value})
    return key


class RateLimiter:
    """A fixed one-minute window per key (``INCR`` + ``EXPIRE``), shared by every web process.

    A key over its ``rate_limit_per_minute`` gets 429 ``rate_limited`` with Retry-After
    until the window ends. With Redis unreachable requests are let through (one
    WARNING line): the limit protects the service, it must not take it down.

    Parameters:
      redis: an async Redis client.
      prefix: key prefix, e.g. "zenith:api".
      window_seconds: the window (default 60).
    """

    def __init__(self, *, redis: Redis, prefix: str, window_seconds: int = RATE_WINDOW_SECONDS) -> None:
        self.redis = redis
        self.prefix = prefix
        self.window_seconds = window_seconds

    async def take(self, key: api_keys.ApiKey) -> int:
        """Count one request of ``key``; the requests it has left in this window. ApiError when none."""
        now = time.time()
        window = int(now) // self.window_seconds
        name = f"{self.prefix}:rate:{key.key_id}:{window}"
        try:
            async with self.redis.pipeline(transaction=True) as pipe:
                pipe.incr(name)
                pipe.expire(name, self.window_seconds * 2)
                count, _ = await pipe.execute()
        except (RedisError, OSError) as exc:
            logger.warning("API rate limit unavailable, request let through: %r", exc)
            return key.rate_limit_per_minute
        limit = key.rate_limit_per_minute
        if count <= limit:
            return limit - count
        retry_after = max(1, (window + 1) * self.window_seconds - int(now))
        raise ApiError(
            "rate_limited",
            params={"limit": limit, "retry_after": retry_after},
            headers={"Retry-After": str(retry_after), "X-RateLimit-Limit": str(limit), "X-RateLimit-Remaining": "0"},
        )
