"""The message a pressed inline button sits on, narrowed to what a handler does with it.

aiogram types ``CallbackQuery.message`` as ``Message | InaccessibleMessage | None``: None
for a button on an inline-mode message (the private-chat middleware refuses those before
any handler), an `InaccessibleMessage` for one the bot can no longer read or edit (Telegram
sends it for a deleted or too old message: only its chat and id are known). A handler asks
for what it needs before it changes anything; when the message cannot give it, the press
is answered "no longer available" (``common.not_available``) and the handler returns
without acting, so a press is either carried out in full or not at all.
"""

from __future__ import annotations

import logging

from aiogram.types import CallbackQuery, InaccessibleMessage, Message

from zenith.i18n import Translator

logger = logging.getLogger(__name__)

# a message whose chat can be answered (a new message sent to it), even if it cannot be edited
ChatMessage = Message | InaccessibleMessage


async def reply_target(query: CallbackQuery, i18n: Translator) -> ChatMessage | None:
    """Where to send the answer to the press: its message's chat.

    None (and the press answered "no longer available") when the press came without one.
    """
    if query.message is None:
        await _refuse(query, i18n, why="without a message")
        return None
    return query.message


async def editable_message(query: CallbackQuery, i18n: Translator) -> Message | None:
    """The pressed message, to edit (its text or buttons) and to answer in its chat.

    None (and the press answered "no longer available") when the bot cannot edit it.
    """
    if not isinstance(query.message, Message):
        await _refuse(query, i18n, why="on an inaccessible message" if query.message else "without a message")
        return None
    return query.message


async def _refuse(query: CallbackQuery, i18n: Translator, *, why: str) -> None:
    # expected (a deleted or old message): one INFO line, the user gets the translated answer
    logger.info("button pressed %s; answered not available", why, extra={"update_type": "callback_query"})
    await query.answer(i18n("common.not_available"), show_alert=True)
