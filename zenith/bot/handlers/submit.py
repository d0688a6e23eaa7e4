"""Video links: every link in a message is checked here and submitted, or refused with the reason."""

from __future__ import annotations

import logging

from aiogram import Router
from aiogram.types import Message

from zenith.bot.filters import HasText
from zenith.bot.keyboards.menu import menu_button
from zenith.bot.services import BotServices
from zenith.domain.links import MAX_LINKS_PER_MESSAGE, LinkRejected, extract_links
from zenith.i18n import Translator
from zenith.messaging.submissions import submit_link
from zenith.storage import accounts
from zenith.storage.users import User

logger = logging.getLogger(__name__)

router = Router(name=__name__)

# Telegram's own limit for one text message; the local sandbox or a forged update may exceed it
MAX_MESSAGE_LENGTH = 4096
# a refused link is echoed back shortened, so one junk message cannot make a huge reply
ECHO_LENGTH = 80


def submission_request_id(*, user_id: int, message_id: int, index: int) -> str:
    """Stable id of the index-th link of a message: a re-delivered update submits nothing new.

    Built from ``users.id``, not the chat id: in a private chat that is the Telegram user
    id, which must not travel in message arguments, Redis keys and videos.request_id.
    Message ids are numbered per chat, so (user, message, index) stays unique.
    """
    return f"{user_id}:{message_id}:{index}"


def _echo(candidate: str) -> str:
    return candidate if len(candidate) <= ECHO_LENGTH else candidate[: ECHO_LENGTH - 1] + "…"


@router.message(menu_button("menu.submit"))
async def submit_prompt(message: Message, i18n: Translator) -> None:
    await message.answer(i18n("submit.prompt"))


@router.message(HasText())
async def submit_links(message: Message, user: User, i18n: Translator, services: BotServices) -> None:
    text = message.text or ""
    if len(text) > MAX_MESSAGE_LENGTH:
        await message.answer(i18n("common.too_long", max=MAX_MESSAGE_LENGTH))
        return
    candidates = extract_links(text, limit=MAX_LINKS_PER_MESSAGE + 1)
    if not candidates:
        await message.answer(i18n("submit.no_links") if _mentions_link(text) else i18n("common.unknown"))
        return
    if not user.is_active:
        await message.answer(i18n("common.banned"))
        return
    too_many = len(candidates) > MAX_LINKS_PER_MESSAGE
    accepted = 0
    platforms: set[str] = set()
    refused: list[str] = []
    for index, candidate in enumerate(candidates[:MAX_LINKS_PER_MESSAGE]):
        request_id = submission_request_id(user_id=user.id, message_id=message.message_id, index=index)
        try:
            # stored before the answer: "accepted" is said only for links committed as received
            parsed = await submit_link(
                send=services.send,
                transaction=services.transaction,
                settings=services.settings,
                user=user,
                link=candidate,
                request_id=request_id,
                source="bot",
            )
        except LinkRejected as exc:
            refused.append(
                i18n("submit.rejected_line", url=_echo(candidate), reason=i18n(f"reject.{exc.reason.value}"))
            )
            continue
        accepted += 1
        platforms.add(parsed.platform.value)
    parts: list[str] = []
    if accepted:
        parts.append(i18n("submit.accepted", count=accepted))
    if refused:
        parts.append("\n".join([i18n("submit.rejected_header"), *refused]))
    if too_many:
        parts.append(i18n("submit.too_many", max=MAX_LINKS_PER_MESSAGE))
    if platforms and not platforms <= await _verified_platforms(services, user=user):
        # said now, not only in the "not from your verified accounts" notice that follows
        parts.append(i18n("submit.no_accounts"))
    await message.answer("\n\n".join(parts), disable_web_page_preview=True)


async def _verified_platforms(services: BotServices, *, user: User) -> set[str]:
    async with services.read() as conn:
        return {account.platform for account in await accounts.list_verified(conn, user_id=user.id)}


def _mentions_link(text: str) -> bool:
    lowered = text.lower()
    return any(word in lowered for word in ("http", "www.", "youtu", "tiktok", ".com"))
