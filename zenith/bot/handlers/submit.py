"""Video links: every link in a message is checked here and submitted, or refused with the reason.

The campaign: none joined -> the default program; one open campaign joined -> that one;
several -> the creator is asked with a button per campaign (and the standard program)
and the links wait for the answer (`zenith.bot.pending_links`).
"""

from __future__ import annotations

import logging

from aiogram import Router
from aiogram.types import CallbackQuery, Message

from zenith.bot import pending_links, pressed
from zenith.bot.callbacks import CampaignPickCb
from zenith.bot.filters import HasText
from zenith.bot.handlers.errors import unless_harmless
from zenith.bot.keyboards.campaigns import pick_keyboard
from zenith.bot.keyboards.menu import menu_button
from zenith.bot.services import BotServices
from zenith.domain.campaigns import DEFAULT_CAMPAIGN_ID
from zenith.domain.links import MAX_LINKS_PER_MESSAGE, LinkRejected, extract_links, parse_link
from zenith.i18n import Translator
from zenith.messaging.submissions import submit_link
from zenith.storage import accounts, campaigns
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
    links = list(enumerate(candidates[:MAX_LINKS_PER_MESSAGE]))
    notes = [i18n("submit.too_many", max=MAX_LINKS_PER_MESSAGE)] if len(candidates) > MAX_LINKS_PER_MESSAGE else []
    async with services.read() as conn:
        joined = await campaigns.joined_open(conn, user.id)
    if len(joined) > 1:
        valid, refused = _split(links, services=services, i18n=i18n)
        if valid:  # nothing is submitted before the creator says which campaign
            await _ask_campaign(message, user, i18n, services, joined=joined, valid=valid, refused=refused, notes=notes)
            return
    campaign = joined[0] if len(joined) == 1 else None  # the only one joined; none: the default program
    parts = await _submit(services, i18n, user=user, message_id=message.message_id, links=links, campaign=campaign)
    await message.answer("\n\n".join(parts + notes), disable_web_page_preview=True)


async def _submit(
    services: BotServices,
    i18n: Translator,
    *,
    user: User,
    message_id: int,
    links: list[tuple[int, str]],
    campaign: campaigns.Campaign | None,
) -> list[str]:
    """Submit each (index, link) of the creator's message to ``campaign`` (None: the actor
    decides); the parts of the answer: accepted, refused, the account hint."""
    accepted = 0
    platforms: set[str] = set()
    refused: list[str] = []
    for index, candidate in links:
        request_id = submission_request_id(user_id=user.id, message_id=message_id, index=index)
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
                campaign_id=campaign.id if campaign is not None else None,
            )
        except LinkRejected as exc:
            refused.append(_refused_line(i18n, candidate, exc))
            continue
        accepted += 1
        platforms.add(parsed.platform.value)
    parts: list[str] = []
    if accepted:
        parts.append(i18n("submit.accepted", count=accepted))
        if campaign is not None and campaign.budgeted:
            parts[-1] += "\n" + i18n("creator_campaigns.submitted_to", name=campaign.name)
    if refused:
        parts.append("\n".join([i18n("submit.rejected_header"), *refused]))
    if platforms and not platforms <= await _verified_platforms(services, user=user):
        # said now, not only in the "not from your verified accounts" notice that follows
        parts.append(i18n("submit.no_accounts"))
    return parts


def _refused_line(i18n: Translator, candidate: str, exc: LinkRejected) -> str:
    return i18n("submit.rejected_line", url=_echo(candidate), reason=i18n(f"reject.{exc.reason.value}"))


def _split(
    links: list[tuple[int, str]], *, services: BotServices, i18n: Translator
) -> tuple[list[tuple[int, str]], list[str]]:
    """The links that parse (kept for the question) and a refused line for each other one."""
    valid, refused = [], []
    for index, candidate in links:
        try:
            parse_link(candidate, photo_posts=services.settings.pay_tiktok_photo_posts)
        except LinkRejected as exc:
            refused.append(_refused_line(i18n, candidate, exc))
            continue
        valid.append((index, candidate))
    return valid, refused


async def _ask_campaign(
    message: Message,
    user: User,
    i18n: Translator,
    services: BotServices,
    *,
    joined: list[campaigns.Campaign],
    valid: list[tuple[int, str]],
    refused: list[str],
    notes: list[str],
) -> None:
    """Ask which joined campaign the links are for; they wait in Redis until a button is pressed."""
    nonce = await pending_links.keep(
        services.redis,
        prefix=services.redis_prefix,
        user_id=user.id,
        pending=pending_links.PendingLinks(message_id=message.message_id, links=valid),
    )
    parts = [i18n("creator_campaigns.pick", count=len(valid))]
    if refused:
        parts.append("\n".join([i18n("submit.rejected_header"), *refused]))
    keyboard = pick_keyboard(i18n, nonce=nonce, joined=[(c.id, c.name) for c in joined])
    await message.answer("\n\n".join(parts + notes), reply_markup=keyboard, disable_web_page_preview=True)


@router.callback_query(CampaignPickCb.filter())
async def pick_campaign(
    query: CallbackQuery, callback_data: CampaignPickCb, user: User, i18n: Translator, services: BotServices
) -> None:
    prefix = services.redis_prefix
    pending = await pending_links.load(services.redis, prefix=prefix, user_id=user.id, nonce=callback_data.nonce)
    if pending is None:  # answered already (a double tap) or expired
        await query.answer(i18n("creator_campaigns.pick_expired"), show_alert=True)
        return
    if not user.is_active:
        await query.answer(i18n("common.banned"), show_alert=True)
        return
    campaign = await _picked(services, user=user, campaign_id=callback_data.campaign_id)
    if campaign is None:  # closed meanwhile, or a forged id: the other buttons still work
        await query.answer(i18n("common.not_available"), show_alert=True)
        return
    message = await pressed.reply_target(query, i18n)
    if message is None:
        return
    await query.answer()
    parts = await _submit(
        services, i18n, user=user, message_id=pending.message_id, links=pending.links, campaign=campaign
    )
    await pending_links.forget(services.redis, prefix=prefix, user_id=user.id, nonce=callback_data.nonce)
    if isinstance(message, Message):  # the question's buttons are closed where the bot can still edit them
        with unless_harmless():  # a double tap removed them already
            await message.edit_reply_markup(reply_markup=None)
    await message.answer("\n\n".join(parts), disable_web_page_preview=True)


async def _picked(services: BotServices, *, user: User, campaign_id: int) -> campaigns.Campaign | None:
    """The campaign pressed, if the creator may send to it now: one they joined that is open, or the default."""
    async with services.read() as conn:
        if campaign_id == DEFAULT_CAMPAIGN_ID:
            return await campaigns.get(conn, DEFAULT_CAMPAIGN_ID)
        return next((c for c in await campaigns.joined_open(conn, user.id) if c.id == campaign_id), None)


async def _verified_platforms(services: BotServices, *, user: User) -> set[str]:
    async with services.read() as conn:
        return {account.platform for account in await accounts.list_verified(conn, user_id=user.id)}


def _mentions_link(text: str) -> bool:
    lowered = text.lower()
    return any(word in lowered for word in ("http", "www.", "youtu", "tiktok", ".com"))
