"""The aiohttp application of the web process: webhook, health and metrics."""

from __future__ import annotations

from aiohttp import web

from zenith.bot.runtime import BotRuntime
from zenith.telemetry.metrics import metrics_handler
from zenith.web.health import POOL_KEY, REDIS_KEY, healthz
from zenith.web.webhook import WebhookHandler, webhook_path

WEBHOOK_HANDLER_KEY = web.AppKey("webhook_handler", WebhookHandler)


def build_web_app(*, runtime: BotRuntime, with_webhook: bool, handle_in_background: bool = True) -> web.Application:
    """Routes: GET /healthz, GET /metrics and, with `with_webhook`, POST <webhook path>.

    Parameters:
      runtime: the open bot runtime (dispatcher, bot, pool, Redis).
      with_webhook: serve Telegram's webhook (WEBHOOK_URL set); needs WEBHOOK_SECRET.
      handle_in_background: answer the webhook before the update is handled (default True).
    """
    app = web.Application()
    services = runtime.services
    app[POOL_KEY] = services.pool
    app[REDIS_KEY] = services.redis
    app.router.add_get("/healthz", healthz)
    app.router.add_get("/metrics", metrics_handler)
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
