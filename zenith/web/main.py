"""`zenith web`: the web process -- webhook (when WEBHOOK_URL is set), /healthz, /metrics."""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import signal

from aiohttp import web

from zenith.config import ConfigError, Settings, get_settings

logger = logging.getLogger(__name__)

# the event loop may be unresponsive this long before the heartbeat stops (the supervisor
# then kills the process after its pool's heartbeat timeout, 60 s by default)
LOOP_MAX_LAG_SECONDS = 10.0


def run_web(args: argparse.Namespace) -> int:
    """Serve on $PORT until SIGTERM/SIGINT; returns the exit code."""
    settings = get_settings()
    if settings.webhook_url and not settings.webhook_secret:
        raise ConfigError("WEBHOOK_SECRET is required when WEBHOOK_URL is set (Telegram sends it with every update)")
    from zenith.telemetry.logs import setup_logging
    from zenith.telemetry.tracing import setup_tracing, shutdown_tracing

    setup_logging(settings, role="web")
    setup_tracing(settings, role="web")
    try:
        asyncio.run(serve(settings))
    finally:
        shutdown_tracing()
    return 0


async def serve(settings: Settings, *, stop: asyncio.Event | None = None) -> None:
    """Open the bot runtime, serve the app on PORT, register the webhook, wait for `stop`.

    Parameters:
      settings: the process settings.
      stop: set it to shut down (default: SIGTERM / SIGINT set it).
    """
    from zenith.bot.dispatcher import set_commands
    from zenith.bot.runtime import open_bot_runtime
    from zenith.supervisor.heartbeat import HEARTBEAT_FILE_ENV, loop_liveness, start_heartbeat
    from zenith.web.app import build_web_app
    from zenith.web.webhook import public_webhook_url

    stop = stop or _stop_on_signals()
    if os.environ.get(HEARTBEAT_FILE_ENV):  # under the supervisor: a blocked loop stops the heartbeat
        start_heartbeat(alive=loop_liveness(asyncio.get_running_loop(), max_lag=LOOP_MAX_LAG_SECONDS))
    with_webhook = bool(settings.webhook_url)
    async with open_bot_runtime(settings) as runtime:
        app = build_web_app(runtime=runtime, with_webhook=with_webhook)
        runner = web.AppRunner(app, access_log=None)
        await runner.setup()
        try:
            # WEB_REUSE_PORT: several processes listen on one port, the kernel spreads the connections
            await web.TCPSite(runner, host="0.0.0.0", port=settings.port, reuse_port=settings.web_reuse_port or None).start()
            logger.info("web process listening on port %d (webhook: %s)", settings.port, with_webhook)
            if with_webhook:
                await runtime.bot.set_webhook(
                    url=public_webhook_url(settings.webhook_url),
                    secret_token=settings.webhook_secret,
                    allowed_updates=runtime.dispatcher.resolve_used_update_types(),
                )
                try:
                    await set_commands(runtime.bot)
                except Exception:  # cosmetic; never block start-up on it
                    logger.warning("could not set the bot's command menu", exc_info=True)
            await stop.wait()
        finally:
            await runner.cleanup()


def _stop_on_signals() -> asyncio.Event:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    return stop
