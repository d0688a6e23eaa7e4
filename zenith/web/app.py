"""The aiohttp application of the web process: webhook, HTTP API, health and metrics."""

from __future__ import annotations

import dramatiq
from aiohttp import web
from psycopg_pool import AsyncConnectionPool
from redis.asyncio import Redis

from zenith.bot.runtime import BotRuntime
from zenith.config import Settings
from zenith.telemetry.metrics import metrics_handler
from zenith.web.api.app import API_PREFIX, build_api_app
from zenith.web.api.context import ApiContext
from zenith.web.health import BROKER_KEY, POOL_KEY, REDIS_KEY, healthz, readyz
from zenith.web.webhook import WebhookHandler, webhook_path

WEBHOOK_HANDLER_KEY = web.AppKey("webhook_handler", WebhookHandler)


def build_service_app(
    *, settings: Settings, pool: AsyncConnectionPool, redis: Redis, broker: dramatiq.Broker
) -> web.Application:
    """Everything but the webhook: GET /healthz, GET /readyz, GET /metrics and the HTTP API under /api/v1."""
    app = web.Application()
    app[POOL_KEY] = pool
    app[REDIS_KEY] = redis
    app[BROKER_KEY] = broker
    app.router.add_get("/healthz", healthz)
    app.router.add_get("/readyz", readyz)
    app.router.add_get("/metrics", metrics_handler)
    app.add_subapp(API_PREFIX, build_api_app(ApiContext(settings=settings, pool=pool, redis=redis, broker=broker)))
    return app


def build_web_app(*, runtime: BotRuntime, with_webhook: bool, handle_in_background: bool = True) -> web.Application:
    """`build_service_app` and, with `with_webhook`, POST <webhook path>.

    Parameters:
      runtime: the open bot runtime (dispatcher, bot, pool, Redis, broker).
      with_webhook: serve Telegram's webhook (WEBHOOK_URL set); needs WEBHOOK_SECRET.
      handle_in_background: answer the webhook before the update is handled (default True).
    """
    services = runtime.services
    app = build_service_app(
        settings=services.settings, pool=services.pool, redis=services.redis, broker=services.broker
    )
    if with_webhook:
        handler = WebhookHandler(
            dispatcher=runtime.dispatcher,
            bot=runtime.bot,
            secret=services.settings.webhook_secret or "",
            max_in_flight=runtime.max_concurrent_updates,
            handle_in_background=handle_in_background,
        )
        app[WEBHOOK_HANDLER_KEY] = handler
        app.router.add_post(webhook_path(services.settings.webhook_url), handler.__call__)

        async def drain(app: web.Application) -> None:
            await handler.drain()

        app.on_shutdown.append(drain)
    return app
