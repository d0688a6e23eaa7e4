"""Per-process resources for the actors, created lazily on the worker's event loop.

Async actors run on the one event loop thread of Dramatiq's AsyncIO middleware, so the
database pool, the Redis client, the HTTP sessions of the platform adapters, the Crypto
Pay client and the Telegram bot are created there on first use, shared by every actor
of the process, and closed once when the worker shuts down (`RuntimeMiddleware`).
"""

from __future__ import annotations

import asyncio
import importlib
import logging
from typing import TYPE_CHECKING, Any, Awaitable, Callable, TypeVar

import dramatiq
from dramatiq.asyncio import get_event_loop_thread
from dramatiq.middleware import Middleware

from zenith.config import Settings
from zenith.messaging.contract import Route, send

if TYPE_CHECKING:  # imported lazily at run time: a worker loads only what its actors use
    from aiogram import Bot
    from psycopg_pool import AsyncConnectionPool
    from redis.asyncio import Redis

    from zenith.platforms.base import PlatformAdapter
    from zenith.platforms.cryptopay import CryptoPayClient
    from zenith.platforms.retrying import RetryPolicy
    from zenith.platforms.safe_http import SafeHttpClient
    from zenith.storage.creator_reads import CreatorReads

logger = logging.getLogger(__name__)

T = TypeVar("T")
Closer = Callable[[], Awaitable[None]]

# retry policy of every view-count adapter instead of its platform's own (None: their own,
# retrying.YOUTUBE, ...); read when an adapter is created, so tests can shorten the waits
PLATFORM_RETRY: RetryPolicy | None = None


class RuntimeNotConfigured(RuntimeError):
    """An actor ran before `configure_runtime` was called in this process."""


class Runtime:
    """Everything the actors of one process share.

    Parameters:
      settings: the process settings.
      broker: the broker next messages are sent on.
      database_url: overrides the resolved DATABASE_URL (tests pass their own).
      redis_url: overrides the resolved REDIS_URL.
    """

    def __init__(
        self,
        settings: Settings,
        *,
        broker: dramatiq.Broker,
        database_url: str | None = None,
        redis_url: str | None = None,
    ) -> None:
        self.settings = settings
        self.broker = broker
        self.namespace = settings.redis_namespace
        self._database_url = database_url
        self._redis_url = redis_url
        self._resources: dict[str, Any] = {}
        self._closers: list[Closer] = []
        self._lock: asyncio.Lock | None = None

    # -- names and messages --------------------------------------------------------

    def key(self, *parts: object) -> str:
        """A Redis key in this deployment's namespace: ``<ns>:part:part``."""
        return ":".join([self.namespace, *(str(p) for p in parts)])

    def send(self, route: Route, *args: Any, delay_ms: int | None = None, **kwargs: Any) -> dramatiq.Message:
        """Enqueue the next message on this runtime's broker."""
        return send(route, *args, delay_ms=delay_ms, broker=self.broker, **kwargs)

    # -- lazily created resources --------------------------------------------------

    async def _get(self, name: str, factory: Callable[[], Awaitable[tuple[T, Closer | None]]]) -> T:
        if name in self._resources:
            return self._resources[name]
        if self._lock is None:
            self._lock = asyncio.Lock()
        async with self._lock:
            if name not in self._resources:
                value, closer = await factory()
                self._resources[name] = value
                if closer is not None:
                    self._closers.append(closer)
        return self._resources[name]

    def database_url(self) -> str:
        if self._database_url:
            return self._database_url
        from zenith.storage.embedded import resolve_database_url

        return resolve_database_url(self.settings)

    def redis_url(self) -> str:
        if self._redis_url:
            return self._redis_url
        from zenith.storage.embedded import resolve_redis_url

        return resolve_redis_url(self.settings)

    async def db(self) -> AsyncConnectionPool:
        """The process's async PostgreSQL pool (zenith.storage)."""

        async def factory() -> tuple[AsyncConnectionPool, Closer]:
            from zenith.storage.db import open_pool

            pool = await open_pool(
                self.database_url(), min_size=self.settings.database_pool_min, max_size=self.settings.database_pool_max
            )
            return pool, pool.close

        return await self._get("db", factory)

    async def redis(self) -> Redis:
        """The process's async Redis client (decoded strings)."""

        async def factory() -> tuple[Redis, Closer]:
            from zenith.storage.redis_pool import blocking_redis

            # a blocking pool waits for a free connection instead of failing when busy
            client = blocking_redis(
                self.redis_url(), decode_responses=True, max_connections=self.settings.redis_max_connections
            )
            return client, client.aclose

        return await self._get("redis", factory)

    async def broker_redis(self) -> Redis:
        """The Redis client of the broker's queues: the process's own client (`redis`), or
        one more, created once, when BROKER_URL names another Redis."""
        url = self.settings.broker_url
        if not url or url == self.redis_url():
            return await self.redis()

        async def factory() -> tuple[Redis, Closer]:
            from zenith.storage.redis_pool import blocking_redis

            client = blocking_redis(url, decode_responses=True, max_connections=4)
            return client, client.aclose

        return await self._get("broker_redis", factory)

    async def creator_reads(self) -> CreatorReads:
        """Creators' cached stats and video pages (zenith.storage.creator_reads), on this process's pool and Redis."""
        pool, redis = await self.db(), await self.redis()  # outside _get: its lock is not re-entrant

        async def factory() -> tuple[CreatorReads, None]:
            from zenith.storage.creator_reads import CreatorReads

            return CreatorReads(
                pool=pool, redis=redis, prefix=self.key("cache") + ":", ttl=self.settings.cache_ttl_seconds
            ), None

        return await self._get("creator_reads", factory)

    async def creators_changed(self, *user_ids: int) -> None:
        """Invalidate what is cached of these creators; call it after the write's transaction committed."""
        await (await self.creator_reads()).invalidate(*user_ids)

    async def bot(self) -> Bot:
        """The aiogram Bot the notifications actor sends with."""

        async def factory() -> tuple[Bot, Closer]:
            # importing aiogram takes seconds: do it off the event loop the other actors share
            module = await asyncio.to_thread(importlib.import_module, "zenith.platforms.telegram")
            from zenith.platforms.retrying import TELEGRAM_NOTICES

            bot = module.build_bot(self.settings, retry=TELEGRAM_NOTICES)
            return bot, bot.session.close

        return await self._get("bot", factory)

    async def platform(self, name: str) -> PlatformAdapter:
        """The view-count adapter of platform ``name`` ("youtube", "tiktok" or "instagram"); built
        by ``zenith.platforms.factory`` (ConfigurationError for YouTube without an API key)."""

        async def factory() -> tuple[PlatformAdapter, Closer]:
            from zenith.platforms.factory import build_adapter

            adapter = build_adapter(
                self.settings, name, concurrency=self.settings.platform_concurrency, retry=PLATFORM_RETRY
            )
            return adapter, adapter.close

        return await self._get(f"platform:{name}", factory)

    async def link_resolver(self) -> SafeHttpClient:
        """The safe HTTP client (allowlist, SSRF guard) that resolves short links."""

        async def factory() -> tuple[SafeHttpClient, Closer]:
            from zenith.platforms.factory import build_link_resolver

            client = build_link_resolver(self.settings)
            return client, client.close

        return await self._get("link_resolver", factory)

    async def crypto_pay(self) -> CryptoPayClient:
        """The Crypto Pay API client (CryptoPayConfigError without CRYPTO_PAY_TOKEN)."""

        async def factory() -> tuple[CryptoPayClient, Closer]:
            from zenith.platforms.factory import build_cryptopay

            client = build_cryptopay(self.settings)
            return client, client.close

        return await self._get("crypto_pay", factory)

    async def close(self) -> None:
        """Close every resource created so far, newest first; errors are logged."""
        closers, self._closers = self._closers[::-1], []
        self._resources.clear()
        for closer in closers:
            try:
                result = closer()
                if asyncio.iscoroutine(result):
                    await result
            except Exception:
                logger.exception("closing a runtime resource failed")


_current: Runtime | None = None


def configure_runtime(
    settings: Settings, *, broker: dramatiq.Broker, database_url: str | None = None, redis_url: str | None = None
) -> Runtime:
    """Make a new `Runtime` the process-wide one and return it."""
    global _current
    _current = Runtime(settings, broker=broker, database_url=database_url, redis_url=redis_url)
    return _current


def get_runtime() -> Runtime:
    """The process-wide runtime; raises `RuntimeNotConfigured` before configuration."""
    if _current is None:
        raise RuntimeNotConfigured("configure_runtime() was not called in this process")
    return _current


class RuntimeMiddleware(Middleware):
    """Closes the runtime's resources on the event loop when the worker shuts down.

    Add it after the AsyncIO middleware: `after_worker_shutdown` runs in reverse
    order, so this one runs while the event loop is still alive.

    Parameters:
      runtime: the runtime to close.
    """

    def __init__(self, runtime: Runtime) -> None:
        self.runtime = runtime

    def after_worker_shutdown(self, broker: dramatiq.Broker, worker: dramatiq.Worker) -> None:
        loop_thread = get_event_loop_thread()
        if loop_thread is None:
            return
        try:
            loop_thread.run_coroutine(self.runtime.close())
        except RuntimeError:
            logger.warning("event loop already stopped; runtime resources not closed cleanly")
