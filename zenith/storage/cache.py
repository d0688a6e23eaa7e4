"""A small Redis cache: JSON values under a key prefix, each with a TTL.

Decimals are stored as strings (never floats) and datetimes as ISO 8601 strings; a
value comes back as the JSON it was stored as, so callers convert ``Decimal(value)``.
"""

from __future__ import annotations

import json
from datetime import date, datetime
from decimal import Decimal
from typing import Any, Awaitable, Callable

import redis.asyncio as aioredis


def _default(value: Any) -> Any:
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, (datetime, date)):
        return value.isoformat()
    raise TypeError(f"cannot cache a {type(value).__name__}: {value!r}")


def dumps(value: Any) -> str:
    """JSON text of ``value`` with Decimal as string; TypeError for anything not JSON-able."""
    return json.dumps(value, default=_default, separators=(",", ":"), ensure_ascii=False)


class Cache:
    """JSON cache in Redis.

    Parameters:
      client: a ``redis.asyncio.Redis`` (the cache does not close a client it was given).
      prefix: prepended to every key, e.g. ``"zenith:cache:"`` (tests use their namespace).
      default_ttl: seconds a value lives when ``set`` gets no ``ttl`` (default 60).
    """

    def __init__(self, client: aioredis.Redis, *, prefix: str, default_ttl: int = 60) -> None:
        if default_ttl <= 0:
            raise ValueError("default_ttl must be positive")
        self.client = client
        self.prefix = prefix
        self.default_ttl = default_ttl
        self._owns_client = False

    @classmethod
    def from_url(cls, url: str, *, prefix: str, default_ttl: int = 60) -> "Cache":
        """A cache with its own client on ``url`` (closed by ``close``)."""
        cache = cls(aioredis.Redis.from_url(url), prefix=prefix, default_ttl=default_ttl)
        cache._owns_client = True
        return cache

    def key(self, key: str) -> str:
        return f"{self.prefix}{key}"

    async def get(self, key: str) -> Any | None:
        """The cached value, or None when absent or expired."""
        raw = await self.client.get(self.key(key))
        return None if raw is None else json.loads(raw)

    async def set(self, key: str, value: Any, *, ttl: int | None = None) -> None:
        await self.client.set(self.key(key), dumps(value), ex=ttl or self.default_ttl)

    async def delete(self, *keys: str) -> int:
        """Forget these keys; returns how many existed."""
        if not keys:
            return 0
        return await self.client.delete(*(self.key(k) for k in keys))

    async def get_or_set(self, key: str, load: Callable[[], Awaitable[Any]], *, ttl: int | None = None) -> Any:
        """The cached value, or ``await load()`` stored for ``ttl`` and returned as cached (JSON round trip).

        A ``None`` result of ``load`` is not cached.
        """
        cached = await self.get(key)
        if cached is not None:
            return cached
        value = await load()
        if value is None:
            return None
        text = dumps(value)
        await self.client.set(self.key(key), text, ex=ttl or self.default_ttl)
        return json.loads(text)

    async def close(self) -> None:
        if self._owns_client:
            await self.client.aclose()
