"""`zenith bot`: long polling, or -- when WEBHOOK_URL is set -- the web process with the webhook."""

from __future__ import annotations

import argparse
import asyncio
import logging
import os

from zenith.config import Settings, get_settings

logger = logging.getLogger(__name__)

# the event loop may be unresponsive this long before the heartbeat stops (the supervisor
# then kills the process after its pool's heartbeat timeout, 60 s by default)
LOOP_MAX_LAG_SECONDS = 10.0


def run_bot(args: argparse.Namespace) -> int:
    """Run the bot until interrupted; returns the exit code.

    With WEBHOOK_URL set, Telegram pushes updates to the web process, which runs the
    dispatcher itself (`zenith.web.main.run_web`); polling at the same time is refused by
    Telegram, so this command serves the web process instead.
    """
    settings = get_settings()
    if settings.webhook_url:
        from zenith.web.main import run_web

        return run_web(args)
    from zenith.telemetry.logs import setup_logging
    from zenith.telemetry.metrics import serve_role_metrics
    from zenith.telemetry.tracing import setup_tracing, shutdown_tracing

    setup_logging(settings, role="bot")
    setup_tracing(settings, role="bot")
    serve_role_metrics(settings, role="bot")
    try:  # SIGTERM/SIGINT stop polling (handle_signals=True), then the spans are flushed here
        asyncio.run(poll(settings))
    finally:
        shutdown_tracing()
    return 0


async def poll(settings: Settings) -> None:
    """Long polling: drop any webhook first (Telegram allows one or the other)."""
    from zenith.bot.dispatcher import set_commands
    from zenith.bot.runtime import open_bot_runtime
    from zenith.supervisor.heartbeat import HEARTBEAT_FILE_ENV, loop_liveness, start_heartbeat

    if os.environ.get(HEARTBEAT_FILE_ENV):  # under the supervisor: a blocked loop stops the heartbeat
        start_heartbeat(alive=loop_liveness(asyncio.get_running_loop(), max_lag=LOOP_MAX_LAG_SECONDS))
    async with open_bot_runtime(settings) as runtime:
        await runtime.bot.delete_webhook(drop_pending_updates=False)
        try:
            await set_commands(runtime.bot)
        except Exception:  # the command menu is cosmetic; never block start-up on it
            logger.warning("could not set the bot's command menu", exc_info=True)
        logger.info("bot polling started")
        await runtime.dispatcher.start_polling(
            runtime.bot,
            allowed_updates=runtime.dispatcher.resolve_used_update_types(),
            handle_signals=True,
            close_bot_session=False,
            tasks_concurrency_limit=runtime.max_concurrent_updates,  # a burst waits instead of failing DB deadlines
        )
