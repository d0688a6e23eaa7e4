"""Unexpected errors: logged with context, the user gets a polite translated message."""

from __future__ import annotations

import logging

from aiogram import Router
from aiogram.exceptions import TelegramAPIError
from aiogram.types import ErrorEvent

from zenith.i18n import Translator, get_translator, normalize_language

logger = logging.getLogger(__name__)

router = Router(name=__name__)


@router.error()
async def on_error(event: ErrorEvent, i18n: Translator | None = None) -> None:
    update = event.update
    exception = event.exception
    sender = None
    inner = update.event
    sender = getattr(inner, "from_user", None)
    timed_out = isinstance(exception, TimeoutError)
    logger.error(
        "update %s (%s) failed: %r",
        update.update_id,
        update.event_type,
        exception,
        exc_info=None if timed_out else exception,
        extra={"update_id": update.update_id, "update_type": update.event_type, "timed_out": timed_out},
    )
    if sender is None:
        return
    if i18n is None:
        i18n = get_translator(normalize_language(sender.language_code))
    text = i18n("common.busy" if timed_out else "common.error")
    try:
        if update.callback_query is not None:
            await update.callback_query.answer(text, show_alert=True)
        elif update.message is not None:
            await update.message.answer(text)
    except TelegramAPIError:
        logger.warning("could not tell user about failed update %s", update.update_id, exc_info=True)
