"""Read-through Redis cache with versioned scopes, single-flight fills and PostgreSQL as the fallback.

Every cached value belongs to a *scope* (``creator:42``). A scope has a version token in
Redis; values live under ``{prefix}{scope}:{token}:{name}``. A writer changes the token
after its transaction commits (``bump``), which makes every value of the scope
unreachable at once. That order closes the race of plain delete-on-write: a reader that
loaded the old rows before the commit read the old token first, so whatever it stores
lands under a token no one reads any more. Tokens are random, never counters: a token
lost to eviction or expiry never resurrects values stored under an old one.

A miss is filled once: in-process through a shared future per key, across processes
through a short Redis lock (``SET NX PX``, taken by the same script that found the miss);
the others wait for the value, and load it themselves only if the filler takes longer
than the lock. Any Redis error makes the
read load straight from PostgreSQL (one WARNING per minute per process), so a dead
Redis slows reads down but never stops them.

Values are JSON; Decimals are stored as strings and datetimes as ISO 8601 strings, and
``revive`` turns such JSON back into a dataclass by its field types.
"""

from __future__ import annotations

import asyncio
import dataclasses
import enum
import functools
import json
import logging
import secrets
import time
import types
import typing
from datetime import date, datetime
from decimal import Decimal
from typing import Any, Awaitable, Callable, TypeVar

from redis.asyncio import Redis
from redis.exceptions import RedisError

from zenith.storage.batched_script import BatchedScript
from zenith.telemetry.metrics import get_metrics

logger = logging.getLogger(__name__)

T = TypeVar("T")

# One call per read: the scope's token (created when missing), the value under it, and on
# a miss the fill lock, taken at once so a miss costs no extra round trip.
# KEYS[1] scope key; ARGV: new token (also the lock's owner mark), name, token TTL s, lock ms.
_READ = """
local token = redis.call('GET', KEYS[1])
if not token then
  token = ARGV[1]
  redis.call('SET', KEYS[1], token, 'EX', ARGV[3])
end
local key = KEYS[1] .. ':' .. token .. ':' .. ARGV[2]
local value = redis.call('GET', key)
if value then
  return {token, value, 0}
end
if redis.call('SET', key .. ':fill', ARGV[1], 'NX', 'PX', ARGV[4]) then
  return {token, false, 1}
end
return {token, false, 0}
"""
# Store the filled value and release the lock if it is still ours. KEYS[1] value key;
# ARGV: value, TTL s, owner mark.
_STORE = """
redis.call('SET', KEYS[1], ARGV[1], 'EX', ARGV[2])
if redis.call('GET', KEYS[1] .. ':fill') == ARGV[3] then
  redis.call('DEL', KEYS[1] .. ':fill')
end
return 1
"""
WARN_EVERY_SECONDS = 60.0


def _default(value: Any) -> Any:
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, (datetime, date)):
        return value.isoformat()
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: getattr(value, f.name) for f in dataclasses.fields(value)}
    raise TypeError(f"cannot cache a {type(value).__name__}: {value!r}")


def dumps(value: Any) -> str:
    """JSON text of ``value`` (dataclasses as objects, Decimal as string); TypeError if not JSON-able."""
    return json.dumps(value, default=_default, separators=(",", ":"), ensure_ascii=False)


def _convert(kind: Any, value: Any) -> Any:
    if value is None:
        return None
    origin = typing.get_origin(kind)
    if origin in (typing.Union, types.UnionType):
        options = [arg for arg in typing.get_args(kind) if arg is not type(None)]
        return _convert(options[0], value) if len(options) == 1 else value
    if origin is list:
        (item,) = typing.get_args(kind)
        return [_convert(item, v) for v in value]
    if isinstance(kind, type) and issubclass(kind, enum.Enum):
        return kind(value)
    if kind is Decimal:
        return Decimal(value)
    if kind is datetime:
        return datetime.fromisoformat(value)
    if isinstance(kind, type) and dataclasses.is_dataclass(kind):
        return revive(kind, value)
    return value


@functools.lru_cache(maxsize=None)
def _field_types(cls: type) -> tuple[tuple[str, Any], ...]:
    hints = typing.get_type_hints(cls)
    return tuple((f.name, hints[f.name]) for f in dataclasses.fields(cls))


def revive(cls: type[T], data: dict[str, Any]) -> T:
    """The dataclass ``cls`` from its ``dumps`` JSON: Decimal, datetime, enum, optional and list fields converted back."""
    fields: tuple[tuple[str, Any], ...] = _field_types(cls)  # type: ignore[arg-type]  # classes are hashable
    return cls(**{name: _convert(kind, data[name]) for name, kind in fields})


class Cache:
    """Versioned read-through cache in Redis.

    Parameters:
      client: a ``redis.asyncio.Redis`` (bytes or decoded; the cache never closes it).
      prefix: prepended to every key, e.g. ``"zenith:cache:"``.
      ttl: seconds a value lives (default 60): the longest a value can outlive a write
        whose ``bump`` failed because Redis was unreachable.
      lock_seconds: how long a filler holds a key's lock; waiters give up and load
        themselves after it (default 2).
      name: label of this cache's hit/miss/fill metrics (default "cache").
    """

    def __init__(
        self, client: Redis, *, prefix: str, ttl: int = 60, lock_seconds: float = 2.0, name: str = "cache"
    ) -> None:
        if ttl <= 0 or lock_seconds <= 0:
            raise ValueError("ttl and lock_seconds must be positive")
        self.client = client
        self.prefix = prefix
        self.ttl = ttl
        self.lock_seconds = lock_seconds
        self.name = name
        self._read = BatchedScript(client, _READ)  # concurrent reads and stores: one round trip each burst
        self._store = BatchedScript(client, _STORE)
        self._inflight: dict[str, asyncio.Future[Any]] = {}
        # the counters' children, looked up once (labels() takes a lock and checks its names)
        metrics = get_metrics()
        self._hits, self._misses, self._errors = (
            metrics.cache_requests.labels(cache=name, result=result) for result in ("hit", "miss", "error")
        )
        self._fills = metrics.cache_fills.labels(cache=name)
        self._warned_at = float("-inf")

    def scope_key(self, scope: str) -> str:
        return f"{self.prefix}{scope}"

    async def bump(self, *scopes: str) -> bool:
        """Make every value of ``scopes`` unreachable; call it after the write committed.

        Returns False (and logs a warning) when Redis could not be told: values then
        live out their TTL.
        """
        if not scopes:
            return True
        try:
            async with self.client.pipeline(transaction=False) as pipe:
                for scope in scopes:
                    pipe.set(self.scope_key(scope), secrets.token_hex(8), ex=self._token_ttl)
                await pipe.execute()
            return True
        except RedisError as exc:
            logger.warning(
                "cache not invalidated for %s (Redis: %s); cached values expire within %d s",
                ", ".join(scopes),
                exc,
                self.ttl,
            )
            return False

    @property
    def _token_ttl(self) -> int:
        # a scope's token outlives its values: a lost token only costs a miss
        return self.ttl * 10

    async def read(self, scope: str, name: str, load: Callable[[], Awaitable[Any]]) -> Any:
        """The JSON value ``name`` of ``scope``: from Redis, or ``await load()`` stored once and returned as JSON.

        ``load`` runs at most once per key across every reader that misses at the same
        time (this process: one future; other processes: the Redis lock).
        """
        mark = secrets.token_hex(8)
        try:
            token, raw, owner = await self._read(
                keys=[self.scope_key(scope)], args=[mark, name, self._token_ttl, int(self.lock_seconds * 1000)]
            )
        except RedisError as exc:
            self._warn(exc)
            self._errors.inc()
            return json.loads(dumps(await load()))
        if raw is not None:
            self._hits.inc()
            return json.loads(raw)
        self._misses.inc()
        key = f"{self.scope_key(scope)}:{_text(token)}:{name}"
        running = self._inflight.get(key)
        if running is not None and not owner:  # the lock holder always fills, whoever waits here
            return await asyncio.shield(running)
        future = asyncio.get_running_loop().create_future()
        self._inflight[key] = future
        try:
            value = await (self._fill(key, load, mark=mark) if owner else self._wait_or_load(key, load))
        except asyncio.CancelledError:
            future.cancel()
            raise
        except Exception as exc:
            future.set_exception(exc)
            future.exception()  # retrieved: waiters re-raise it, no "never retrieved" warning
            raise
        else:
            future.set_result(value)
            return value
        finally:
            if self._inflight.get(key) is future:
                del self._inflight[key]

    async def _fill(self, key: str, load: Callable[[], Awaitable[Any]], *, mark: str) -> Any:
        """Load and store the value; we hold the key's fill lock (it expires by itself if we die)."""
        text = dumps(await load())
        self._fills.inc()
        try:
            await self._store(keys=[key], args=[text, self.ttl, mark])
        except RedisError as exc:
            self._warn(exc)
        return json.loads(text)

    async def _wait_or_load(self, key: str, load: Callable[[], Awaitable[Any]]) -> Any:
        """Another process is filling the key: wait for its value, or load ourselves if it is late."""
        waited = await self._wait_for(key)
        if waited is not None:
            return json.loads(waited)
        return json.loads(dumps(await load()))

    async def _wait_for(self, key: str) -> Any | None:
        deadline = time.monotonic() + self.lock_seconds
        delay = 0.005
        while time.monotonic() < deadline:
            await asyncio.sleep(delay)
            try:
                raw = await self.client.get(key)
            except RedisError:
                return None
            if raw is not None:
                return raw
            delay = min(delay * 2, 0.05)
        return None

    def _warn(self, exc: Exception) -> None:
        now = time.monotonic()
        if now - self._warned_at >= WARN_EVERY_SECONDS:
            self._warned_at = now
            logger.warning("cache unavailable, reading from PostgreSQL (Redis: %s)", exc)


def _text(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value
