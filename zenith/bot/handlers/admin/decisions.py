"""The steps shared by admin decisions on videos and payouts: queue, approve, ask a reason, reject.

Both queues work the same way: cards with Approve / Reject, approval at once, rejection
after the admin types a reason (kept in the FSM state with the target id). What differs
-- the storage call, the audit action, what the creator is told -- stays in
`moderation.py` and `payouts.py`. The creator's notice of a decision is staged in the
outbox in the decision's transaction and published after the commit, so a bot dying (or
a broker failing) in between only delays it: the clock relays it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Awaitable, Callable, Sequence

import psycopg
from aiogram.exceptions import TelegramBadRequest
from aiogram.fsm.context import FSMContext
from aiogram.fsm.state import State
from aiogram.types import CallbackQuery, InlineKeyboardMarkup, Message

from zenith.bot import pressed
from zenith.bot.callbacks import AdminQueue
from zenith.bot.keyboards.admin import queue_pages_keyboard
from zenith.bot.keyboards.inline import cancel_keyboard
from zenith.bot.services import BotServices
from zenith.i18n import Translator
from zenith.messaging import notices
from zenith.storage import outbox
from zenith.storage.users import User

# the creator sees the reason; keep it a sentence, not an essay
MAX_REASON_LENGTH = 500


@dataclass(frozen=True)
class Card:
    text: str
    keyboard: InlineKeyboardMarkup


# cards per queue page: each card is a message of its own
QUEUE_PAGE = 5


@dataclass(frozen=True)
class QueuePage:
    """One page of a decision queue, oldest first.

    Attributes: items (at most QUEUE_PAGE), page (zero-based, clamped to the pages there
    are now), pages (at least 1), total (items waiting in all).
    """

    items: list[Any]
    page: int
    pages: int
    total: int

    @property
    def first(self) -> int:
        """1-based position of the first item shown."""
        return self.page * QUEUE_PAGE + 1


async def read_queue_page(
    conn: psycopg.AsyncConnection[Any],
    *,
    oldest: Callable[..., Awaitable[list[Any]]],
    count: Callable[..., Awaitable[int]],
    page: int,
) -> QueuePage:
    """Page `page` of a queue: ``oldest(conn, limit=n)`` gives its n oldest items, ``count(conn)`` its size.

    Pages are addressed by number, read as the oldest ``QUEUE_PAGE * (page + 1)`` items
    with the earlier pages skipped: the storage calls order by time but page by id, so
    this stays true to the order shown, at a cost that grows with the page (admins work
    from the oldest end). A page past the end (the queue shrank) shows the last one.
    """
    total = await count(conn)
    pages = max(1, -(-total // QUEUE_PAGE))
    page = min(max(page, 0), pages - 1)
    items = (await oldest(conn, limit=QUEUE_PAGE * (page + 1)))[page * QUEUE_PAGE :]
    return QueuePage(items=items[:QUEUE_PAGE], page=page, pages=pages, total=total)


async def send_queue(
    message: pressed.ChatMessage,
    *,
    i18n: Translator,
    queue: AdminQueue,
    shown: QueuePage,
    cards: Sequence[Card],
    header_key: str,
    empty_key: str,
) -> None:
    """One page of a decision queue: or `empty_key` when nothing waits.

    Parameters:
      queue: which queue, for the ‹ Previous / Next › buttons.
      shown: the page read by `read_queue_page`; `cards` are its items, in order.
      header_key: text above the cards, given ``total``, ``first`` and ``last`` (1-based).
      empty_key: the whole answer when `cards` is empty.

    Each card is a message with its own buttons; with more than one page, a last message
    says which page this is and carries the buttons to the others.
    """
    if not cards:
        await message.answer(i18n(empty_key))
        return
    await message.answer(i18n(header_key, total=shown.total, first=shown.first, last=shown.first + len(cards) - 1))
    for card in cards:
        await message.answer(card.text, reply_markup=card.keyboard, disable_web_page_preview=True)
    pages = queue_pages_keyboard(i18n, queue=queue, page=shown.page, pages=shown.pages)
    if pages.inline_keyboard:
        await message.answer(i18n("common.page", page=shown.page + 1, pages=shown.pages), reply_markup=pages)


async def turn_queue_page(query: CallbackQuery, *, i18n: Translator, is_admin: bool) -> Message | None:
    """A ‹ Previous / Next › press: None (refused) for a non-admin or a message gone; else
    answered, the old page's buttons closed, and its message -- the caller sends the page
    asked for under it."""
    if await refuse_unless_admin(query, i18n=i18n, is_admin=is_admin):
        return None
    message = await pressed.editable_message(query, i18n)
    if message is None:
        return None
    await query.answer()
    await close_buttons(message)
    return message


async def close_buttons(message: Message) -> None:
    """Remove the inline buttons of `message`; already gone is fine."""
    try:
        await message.edit_reply_markup(reply_markup=None)
    except TelegramBadRequest:
        # the buttons are gone already (closed on another device, or pressed twice)
        pass


async def refuse_unless_admin(query: CallbackQuery, *, i18n: Translator, is_admin: bool) -> bool:
    """True (and the press answered) when the presser is not an admin."""
    if not is_admin:
        await query.answer(i18n("admin.refused"), show_alert=True)
    return not is_admin


async def answer_undecidable(query: CallbackQuery, *, i18n: Translator, found: bool) -> None:
    """The target vanished (forged id) or someone decided it first."""
    await query.answer(i18n("admin.already_decided" if found else "common.not_available"), show_alert=True)


async def confirm_decision(query: CallbackQuery, card: Message, *, text: str) -> None:
    """Close the card's buttons and say what was done."""
    await query.answer()
    await close_buttons(card)
    await card.answer(text)


async def ask_reason(
    query: CallbackQuery, *, i18n: Translator, state: FSMContext, dialog: State, target_id: int
) -> None:
    """Wait for the rejection reason of `target_id` in the FSM state `dialog`."""
    message = await pressed.reply_target(query, i18n)
    if message is None:
        return
    await state.set_state(dialog)
    await state.update_data(target_id=target_id)
    await query.answer()
    await message.answer(i18n("admin.ask_reason", max=MAX_REASON_LENGTH), reply_markup=cancel_keyboard(i18n))


@dataclass(frozen=True)
class Rejection:
    target_id: int
    reason: str
    admin_id: int


async def take_reason(message: Message, *, admin: User, state: FSMContext) -> Rejection:
    """The target id and the reason `admin` typed (trimmed to MAX_REASON_LENGTH); leaves the dialog."""
    target_id = int((await state.get_data()).get("target_id", 0))
    await state.clear()
    return Rejection(
        target_id=target_id, reason=(message.text or "").strip()[:MAX_REASON_LENGTH], admin_id=admin.telegram_id
    )


@dataclass(frozen=True)
class DecisionKind:
    """What differs between deciding on a video and on a payout.

    Parameters:
      dialog: FSM state waiting for the rejection reason.
      load: ``(conn, target_id) -> target`` ; raises `missing`.
      missing: the exception `load` / `approve` raise for an unknown id.
      pending: ``target -> bool``: still waiting for a decision.
      approve: ``(conn, target_id, admin_id) -> target | None`` (None: decided meanwhile),
        audit row included; runs in one transaction.
      reject: ``(conn, target_id, admin_id, reason) -> target | None``, the same way.
      tag: ``target -> None``: names the target on the update's span (and on the messages
        sent after it) via `zenith.telemetry.subject`, so the decision is found by its id.
      approved_notice / rejected_notice: ``target[, reason] -> dict | None`` -- the creator's
        notice as ``outbox.add`` arguments (user_id, key, params, dedup_key), staged in
        the decision's transaction; None: nothing to tell now.
      after_approve: ``(services, target)`` -- the work messages to send after the commit
        (None: the decision's transaction did everything).
      approved_key / rejected_key: the admin's confirmation; id_param: its id placeholder.
    """

    dialog: State
    load: Callable[..., Awaitable[Any]]
    missing: type[Exception]
    pending: Callable[[Any], bool]
    approve: Callable[..., Awaitable[Any]]
    reject: Callable[..., Awaitable[Any]]
    tag: Callable[[Any], None]
    approved_notice: Callable[[Any], dict[str, Any] | None]
    rejected_notice: Callable[[Any, str], dict[str, Any] | None]
    after_approve: Callable[..., Awaitable[None]] | None
    approved_key: str
    rejected_key: str
    id_param: str


async def approve_target(
    query: CallbackQuery, *, kind: DecisionKind, target_id: int, i18n: Translator, is_admin: bool, services: BotServices
) -> None:
    if await refuse_unless_admin(query, i18n=i18n, is_admin=is_admin):
        return
    # the card must still be there to close and answer under, or the approval waits
    card = await pressed.editable_message(query, i18n)
    if card is None:
        return
    try:
        async with services.transaction() as conn:
            target = await kind.approve(conn, target_id, query.from_user.id)
            staged = await _stage(conn, kind.approved_notice(target) if target is not None else None)
    except kind.missing:
        await answer_undecidable(query, i18n=i18n, found=False)
        return
    if target is None:
        await answer_undecidable(query, i18n=i18n, found=True)
        return
    await services.creator_reads.invalidate(target.user_id)  # the creator's list or balance changed: committed above
    kind.tag(target)
    await _publish(services, staged)
    if kind.after_approve is not None:
        await kind.after_approve(services, target)
    await confirm_decision(query, card, text=i18n(kind.approved_key, **{kind.id_param: target.id}))


async def start_rejection(
    query: CallbackQuery,
    *,
    kind: DecisionKind,
    target_id: int,
    i18n: Translator,
    is_admin: bool,
    services: BotServices,
    state: FSMContext,
) -> None:
    if await refuse_unless_admin(query, i18n=i18n, is_admin=is_admin):
        return
    async with services.read() as conn:
        try:
            target = await kind.load(conn, target_id)
        except kind.missing:
            target = None
    if target is None or not kind.pending(target):
        await answer_undecidable(query, i18n=i18n, found=target is not None)
        return
    await ask_reason(query, i18n=i18n, state=state, dialog=kind.dialog, target_id=target.id)


async def finish_rejection(
    message: Message,
    *,
    kind: DecisionKind,
    admin: User,
    i18n: Translator,
    is_admin: bool,
    services: BotServices,
    state: FSMContext,
) -> None:
    if not is_admin:
        return
    rejection = await take_reason(message, admin=admin, state=state)
    async with services.transaction() as conn:
        target = await kind.reject(conn, rejection.target_id, rejection.admin_id, rejection.reason)
        staged = await _stage(conn, kind.rejected_notice(target, rejection.reason) if target is not None else None)
    if target is None:
        await message.answer(i18n("admin.already_decided"))
        return
    await services.creator_reads.invalidate(target.user_id)  # a rejected video, or a released reservation
    kind.tag(target)
    await _publish(services, staged)
    await message.answer(i18n(kind.rejected_key, **{kind.id_param: target.id}))


async def _stage(conn: psycopg.AsyncConnection[Any], notice: dict[str, Any] | None) -> outbox.OutboxEntry | None:
    """The decision's notice in its transaction (None: no notice, or staged before)."""
    return await outbox.add(conn, **notice) if notice is not None else None


async def _publish(services: BotServices, staged: outbox.OutboxEntry | None) -> None:
    await notices.publish([staged], send=notices.notify_sender(services.send), connect=services.read)
