"""`zenith web`: the web process -- webhook (when WEBHOOK_URL is set), /healthz, /metrics."""

from __future__ import annotations

import argparse
import asyncio
import logging

from aiohttp import web

from zenith.config import ConfigError, Settings, get_settings

logger = logging.getLogger(__name__)


def run_web(args: argparse.Namespace) -> int:
    """Serve on $PORT until SIGTERM/SIGINT; returns the exit code."""
    settings = get_settings()
    if settings.webhook_url and not settings.webhook_secret:
        raise ConfigError("WEBHOOK_SECRET is required when WEBHOOK_URL is set (Telegram sends it with every update)")
    from zenith.bootstrap import process_lifetime, run_event_loop

    with process_lifetime(settings, role="web", metrics=False):  # /metrics is served on PORT
        run_event_loop(serve(settings))
    return 0


async def serve(settings: Settings, *, stop: asyncio.Event | None = None) -> None:
    """Open the bot runtime, serve the app on PORT, register the webhook, wait for `stop`.

    Parameters:
      settings: the process settings.
      stop: set it to shut down (default: SIGTERM / SIGINT set it).
    """
    from zenith.bootstrap import settle_heap, start_loop_heartbeat, stop_on_signals
    from zenith.bot.dispatcher import try_set_commands
    from zenith.bot.runtime import open_bot_runtime
    from zenith.web.app import build_web_app
    from zenith.web.webhook import public_webhook_url

    stop = stop or stop_on_signals()
    start_loop_heartbeat()  # under the supervisor: a blocked loop stops the heartbeat
    with_webhook = bool(settings.webhook_url)
    async with open_bot_runtime(settings) as runtime:
        app = build_web_app(runtime=runtime, with_webhook=with_webhook)
        runner = web.AppRunner(app, access_log=None)
        await runner.setup()
        settle_heap()
        try:
            # WEB_REUSE_PORT: several processes listen on one port, the kernel spreads the connections
            await web.TCPSite(
                runner, host="0.0.0.0", port=settings.port, reuse_port=settings.web_reuse_port or None
            ).start()
            logger.info("web process listening on port %d (webhook: %s)", settings.port, with_webhook)
            if settings.webhook_url:  # with_webhook
                await runtime.bot.set_webhook(
                    url=public_webhook_url(settings.webhook_url),
                    secret_token=settings.webhook_secret,
                    allowed_updates=runtime.dispatcher.resolve_used_update_types(),
                )
                await try_set_commands(runtime.bot)
            await stop.wait()
        finally:
            await runner.cleanup()
