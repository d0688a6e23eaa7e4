"""`zenith bot`: long polling, or -- when WEBHOOK_URL is set -- the web process with the webhook."""

from __future__ import annotations

import argparse
import logging

from zenith.config import Settings, get_settings

logger = logging.getLogger(__name__)


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
    from zenith.bootstrap import process_lifetime, run_event_loop

    # SIGTERM/SIGINT stop polling (handle_signals=True), then the spans are flushed
    with process_lifetime(settings, role="bot"):
        run_event_loop(poll(settings))
    return 0


async def poll(settings: Settings) -> None:
    """Long polling: drop any webhook first (Telegram allows one or the other)."""
    from zenith.bootstrap import settle_heap, start_loop_heartbeat
    from zenith.bot.dispatcher import try_set_commands
    from zenith.bot.runtime import open_bot_runtime

    start_loop_heartbeat()  # under the supervisor: a blocked loop stops the heartbeat
    async with open_bot_runtime(settings) as runtime:
        await runtime.bot.delete_webhook(drop_pending_updates=False)
        await try_set_commands(runtime.bot)
        settle_heap()
        logger.info("bot polling started")
        await runtime.dispatcher.start_polling(
            runtime.bot,
            allowed_updates=runtime.dispatcher.resolve_used_update_types(),
            handle_signals=True,
            close_bot_session=False,
            tasks_concurrency_limit=runtime.max_concurrent_updates,  # a burst waits instead of failing DB deadlines
        )
