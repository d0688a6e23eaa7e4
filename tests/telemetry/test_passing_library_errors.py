"""aiogram's "Failed to fetch updates" (Telegram or the network blinked; polling retries by
itself) is a WARNING line, while other ERROR lines of the same logger stay ERROR."""

from __future__ import annotations

import io
import json
import logging

from aiogram import loggers

from zenith.telemetry.logs import setup_logging


def test_failed_update_fetch_is_a_warning_and_other_errors_stay_errors(make_settings):
    stream = io.StringIO()
    root = logging.getLogger()
    saved = (list(root.handlers), root.level)
    try:
        setup_logging(make_settings(), role="bot", stream=stream)
        setup_logging(make_settings(), role="bot", stream=stream)  # twice: one filter, not two
        # exactly what aiogram's polling loop logs when getUpdates fails
        loggers.dispatcher.error(
            "Failed to fetch updates - %s: %s", "TelegramNetworkError", "HTTP Client says - ClientConnectorError"
        )
        loggers.dispatcher.error("Cause exception while process update id=%d by bot id=%d", 1, 2)
    finally:
        root.handlers[:] = saved[0]
        root.setLevel(saved[1])
    lines = [json.loads(line) for line in stream.getvalue().splitlines()]
    assert [(line["level"], line["message"].split(" - ")[0].split(" id=")[0]) for line in lines] == [
        ("WARNING", "Failed to fetch updates"),
        ("ERROR", "Cause exception while process update"),
    ]
    assert len(logging.getLogger("aiogram.dispatcher").filters) == 1
