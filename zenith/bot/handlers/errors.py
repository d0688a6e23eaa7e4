"""Errors of update handlers: expected ones in one line, unexpected ones with context.

Some errors are a normal part of talking to Telegram and need nobody's attention: a
button pressed twice makes the second edit fail with "message is not modified", a
callback answered too late is "query is too old", a user who blocked the bot refuses
our messages, a stalled dependency times the handler out. Those are logged at INFO or
WARNING in one line, without a traceback. Anything else is a bug or an outage: ERROR
with the traceback, and the user gets a polite translated message.
"""

from __future__ import annotations

import logging
from contextlib import contextmanager
from typing import Iterator

from aiogram import Router
from aiogram.exceptions import TelegramAPIError, TelegramBadRequest, TelegramForbiddenError
from aiogram.types import ErrorEvent, Update

from zenith.i18n import Translator, get_translator, normalize_language

logger = logging.getLogger(__name__)

router = Router(name=__name__)

# Telegram's descriptions of a request that was already done or can no longer matter.
HARMLESS_BAD_REQUESTS = (
    "message is not modified",  # the same edit twice: a double-tapped button
    "query is too old",  # a callback answered after Telegram's deadline
    "message to edit not found",  # the message was deleted meanwhile
    "message can't be edited",
)


def is_harmless(exception: BaseException) -> bool:
    """A Telegram refusal that needs no one's attention and no message to the user."""
    if isinstance(exception, TelegramForbiddenError):
        return True  # the user blocked the bot: nothing to tell them, nothing to fix
    if isinstance(exception, TelegramBadRequest):
        text = str(exception.message).lower()
        return any(phrase in text for phrase in HARMLESS_BAD_REQUESTS)
    return False


@contextmanager
def unless_harmless() -> Iterator[None]:
    """Around a courtesy call (re-drawing a page, closing a question's buttons) that the
    handler goes on without: Telegram's harmless refusals are logged and passed over,
    any other error is raised to ``on_error`` as usual."""
    try:
        yield
    except TelegramAPIError as exc:
        if not is_harmless(exc):
            raise
        logger.info("Telegram says %r; passed over", str(exc), extra={"harmless": True})


@router.error()
async def on_error(event: ErrorEvent, i18n: Translator | None = None) -> None:
    update = event.update
    exception = event.exception
    context = {"update_id": update.update_id, "update_type": update.event_type}
    if is_harmless(exception):
        logger.info(
            "update %s (%s): Telegram says %r; nothing to do",
            update.update_id,
            update.event_type,
            str(exception),
            extra={**context, "harmless": True},
        )
        await _stop_spinner(update)
        return
    timed_out = isinstance(exception, TimeoutError)
    if timed_out:
        logger.warning(
            "update %s (%s) timed out: %r",
            update.update_id,
            update.event_type,
            exception,
            extra={**context, "timed_out": True},
        )
    else:
        logger.error(
            "update %s (%s) failed: %r",
            update.update_id,
            update.event_type,
            exception,
            exc_info=exception,
            extra={**context, "timed_out": False},
        )
    sender = getattr(update.event, "from_user", None)
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
    except TelegramAPIError as exc:
        logger.warning("could not tell user about failed update %s: %r", update.update_id, exc)


async def _stop_spinner(update: Update) -> None:
    """Answer a pressed button without a message (the press already took effect)."""
    if update.callback_query is None:
        return
    try:
        await update.callback_query.answer()
    except TelegramAPIError:
        pass  # answered already, or too late to answer: the client stops waiting anyway
