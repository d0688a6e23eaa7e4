"""Review of held earnings: each hold with its evidence, released or reversed by an admin.

A card shows the views chart with the held jump shaded, the signals with the numbers
that fired them, and the creator's risk and history. Release credits the held amount to
the creator's available balance; reverse takes it back (the creator is told the reason).
The two bulk buttons do the same for every open hold of the card's creator. Every
decision is a ledger transfer keyed by the hold and an audit entry
(`storage.trust_holds.decide`), so a double tap or two admins at once move money once.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import psycopg
from aiogram import F, Router
from aiogram.filters import Command
from aiogram.fsm.context import FSMContext
from aiogram.types import BufferedInputFile, CallbackQuery, Message

from zenith.bot import pressed
from zenith.bot.callbacks import AdminHoldCb, AdminMenuCb, AdminQueue, AdminQueuePageCb, AdminSection, HoldAction
from zenith.bot.charts import views_chart_png
from zenith.bot.filters import HasText
from zenith.bot.handlers.admin.decisions import (
    DecisionKind,
    QueuePage,
    approve_target,
    ask_reason,
    close_buttons,
    finish_rejection,
    read_queue_page,
    refuse_unless_admin,
    start_rejection,
    take_reason,
    turn_queue_page,
)
from zenith.bot.handlers.admin.filters import user_label
from zenith.bot.keyboards.admin import hold_review_keyboard, queue_pages_keyboard
from zenith.bot.services import BotServices
from zenith.bot.states import AdminDialog
from zenith.domain.trust import TrustPolicy
from zenith.i18n import Translator
from zenith.messaging import notices
from zenith.storage import outbox, snapshots, trust_holds, trust_signals, users, videos
from zenith.storage.users import User
from zenith.telemetry.subject import tag_video

router = Router(name=__name__)

CAPTION_LIMIT = 1024  # Telegram's limit for a photo caption
CHART_POINTS = 200


class HoldNotFound(LookupError):
    """No hold with that id (a forged or stale button)."""


@dataclass(frozen=True)
class Reviewed:
    """A hold with its video's link, for the creator's notice."""

    hold: trust_holds.Hold
    url: str

    @property
    def id(self) -> int:
        return self.hold.id

    @property
    def user_id(self) -> int:
        """The creator whose money the decision moves (their cached figures are invalidated)."""
        return self.hold.user_id


async def _with_url(conn: psycopg.AsyncConnection[Any], hold: trust_holds.Hold) -> Reviewed:
    return Reviewed(hold, (await videos.get(conn, hold.video_id)).url)


async def _decided(conn: psycopg.AsyncConnection[Any], hold: trust_holds.Hold | None) -> Reviewed | None:
    """The hold a decision moved, with its link; None when it was decided before."""
    return await _with_url(conn, hold) if hold is not None else None


async def _load(conn: psycopg.AsyncConnection[Any], hold_id: int) -> Reviewed:
    hold = await trust_holds.get(conn, hold_id)
    if hold is None:
        raise HoldNotFound(f"no hold with id {hold_id}")
    return await _with_url(conn, hold)


def _evidence(evidence: dict[str, Any]) -> str:
    return ", ".join(f"{key}={value}" for key, value in evidence.items())


async def _card(
    conn: psycopg.AsyncConnection[Any], hold: trust_holds.Hold, *, i18n: Translator, policy: TrustPolicy
) -> tuple[str, bytes | None]:
    """The card's caption and chart (None with fewer than two snapshots)."""
    video = await videos.get(conn, hold.video_id)
    owner = await users.get(conn, hold.user_id)
    signals = await trust_signals.for_hold(conn, hold.id)
    history = await trust_holds.creator_history(conn, hold.user_id)
    risk = await trust_signals.creator_risk(conn, hold.user_id, rules=policy.risk, window=policy.risk_window)
    points = await snapshots.list_for_video(conn, video_id=video.id, limit=CHART_POINTS)
    lines = [
        i18n(
            "admin.hold_card",
            hold_id=hold.id,
            amount=hold.amount,
            video_id=video.id,
            platform=i18n(f"platform.{video.platform}"),
            url=video.url,
            user=user_label(owner),
            tier=i18n(f"tier.name_{owner.tier}"),
            risk=risk.score,
            views_before=hold.views_before,
            views_now=hold.views_now,
            created=hold.created_at,
        ),
        *(
            i18n("admin.signal_line", name=i18n(f"admin.signal_kind.{s.kind}"), details=_evidence(s.evidence))
            for s in signals
        ),
        i18n(
            "admin.hold_history",
            open_holds=history.open_holds,
            open_amount=history.open_amount,
            released=history.released,
            reversed=history.reversed,
            rejected_videos=history.rejected_videos,
        ),
    ]
    text = "\n".join(lines)
    if len(text) > CAPTION_LIMIT:
        text = text[: CAPTION_LIMIT - 1] + "…"
    if len(points) < 2:
        return text, None
    # the held jump: from the snapshot before the held one to the held one (when both are charted)
    held_at = next((p.taken_at for p in points if p.id == hold.snapshot_id), None)
    before = [p.taken_at for p in points if held_at is not None and p.taken_at < held_at]
    marked = [(before[-1], held_at)] if before and held_at is not None else []
    png = await asyncio.to_thread(
        views_chart_png,
        [(p.taken_at, p.views) for p in points],
        title=i18n("admin.hold_chart_title", video_id=video.id),
        marked=marked,
    )
    return text, png


async def _send_queue(message: pressed.ChatMessage, *, i18n: Translator, services: BotServices, page: int = 0) -> None:
    policy = TrustPolicy.from_settings(services.settings)
    async with services.read() as conn:
        shown: QueuePage = await read_queue_page(
            conn, oldest=trust_holds.oldest_open, count=trust_holds.count_open, page=page
        )
        cards = [(hold, *await _card(conn, hold, i18n=i18n, policy=policy)) for hold in shown.items]
    if not cards:
        await message.answer(i18n("admin.review_empty"))
        return
    await message.answer(
        i18n("admin.review_header", total=shown.total, first=shown.first, last=shown.first + len(cards) - 1)
    )
    for hold, text, png in cards:
        keyboard = hold_review_keyboard(i18n, hold_id=hold.id)
        if png is not None:
            await message.answer_photo(
                BufferedInputFile(png, filename=f"hold-{hold.id}.png"), caption=text, reply_markup=keyboard
            )
        else:
            await message.answer(text, reply_markup=keyboard, disable_web_page_preview=True)
    pages = queue_pages_keyboard(i18n, queue=AdminQueue.REVIEW, page=shown.page, pages=shown.pages)
    if pages.inline_keyboard:
        await message.answer(i18n("common.page", page=shown.page + 1, pages=shown.pages), reply_markup=pages)


@router.message(Command("review"))
async def queue_command(message: Message, i18n: Translator, services: BotServices) -> None:
    await _send_queue(message, i18n=i18n, services=services)


@router.callback_query(AdminMenuCb.filter(F.section == AdminSection.REVIEW))
async def queue_button(query: CallbackQuery, i18n: Translator, services: BotServices) -> None:
    message = await pressed.reply_target(query, i18n)
    if message is None:
        return
    await query.answer()
    await _send_queue(message, i18n=i18n, services=services)


@router.callback_query(AdminQueuePageCb.filter(F.queue == AdminQueue.REVIEW))
async def queue_page(
    query: CallbackQuery, callback_data: AdminQueuePageCb, i18n: Translator, is_admin: bool, services: BotServices
) -> None:
    message = await turn_queue_page(query, i18n=i18n, is_admin=is_admin)
    if message is not None:
        await _send_queue(message, i18n=i18n, services=services, page=callback_data.page)


async def _release(conn: psycopg.AsyncConnection[Any], hold_id: int, admin_id: int) -> Reviewed | None:
    await _load(conn, hold_id)  # HoldNotFound for a forged id
    return await _decided(
        conn, await trust_holds.decide(conn, hold_id=hold_id, decision=trust_holds.RELEASE, admin_id=admin_id)
    )


async def _reverse(conn: psycopg.AsyncConnection[Any], hold_id: int, admin_id: int, reason: str) -> Reviewed | None:
    return await _decided(
        conn,
        await trust_holds.decide(conn, hold_id=hold_id, decision=trust_holds.REVERSE, admin_id=admin_id, reason=reason),
    )


def _released_notice(reviewed: Reviewed) -> dict[str, Any]:
    hold = reviewed.hold
    params = {"amount": str(hold.amount), "url": reviewed.url}
    return {
        "user_id": hold.user_id,
        "key": "notify.hold.released",
        "params": params,
        "dedup_key": f"hold:{hold.id}:released",
    }


def _reversed_notice(reviewed: Reviewed, reason: str) -> dict[str, Any]:
    hold = reviewed.hold
    params = {"amount": str(hold.amount), "url": reviewed.url, "reason": reason}
    return {
        "user_id": hold.user_id,
        "key": "notify.hold.reversed",
        "params": params,
        "dedup_key": f"hold:{hold.id}:reversed",
    }


HOLD = DecisionKind(
    dialog=AdminDialog.reverse_hold_reason,
    load=_load,
    missing=HoldNotFound,
    pending=lambda reviewed: reviewed.hold.status == "held",
    approve=_release,
    reject=_reverse,
    tag=lambda reviewed: tag_video(reviewed.hold.video_id),
    approved_notice=_released_notice,
    rejected_notice=_reversed_notice,
    after_approve=None,  # the release is complete once committed
    approved_key="admin.released_hold",
    rejected_key="admin.reversed_hold",
    id_param="hold_id",
)


@router.callback_query(AdminHoldCb.filter(F.action == HoldAction.RELEASE))
async def release(
    query: CallbackQuery, callback_data: AdminHoldCb, i18n: Translator, is_admin: bool, services: BotServices
) -> None:
    await approve_target(
        query, kind=HOLD, target_id=callback_data.hold_id, i18n=i18n, is_admin=is_admin, services=services
    )


@router.callback_query(AdminHoldCb.filter(F.action == HoldAction.REVERSE))
async def ask_reverse_reason(
    query: CallbackQuery,
    callback_data: AdminHoldCb,
    i18n: Translator,
    is_admin: bool,
    services: BotServices,
    state: FSMContext,
) -> None:
    await start_rejection(
        query, kind=HOLD, target_id=callback_data.hold_id, i18n=i18n, is_admin=is_admin, services=services, state=state
    )


@router.message(AdminDialog.reverse_hold_reason, HasText())
async def reverse(
    message: Message, user: User, i18n: Translator, is_admin: bool, services: BotServices, state: FSMContext
) -> None:
    await finish_rejection(message, kind=HOLD, admin=user, i18n=i18n, is_admin=is_admin, services=services, state=state)


async def _decide_all(
    services: BotServices, *, hold_id: int, decision: str, admin_id: int, reason: str | None
) -> tuple[int, Decimal]:
    """Decide every open hold of ``hold_id``'s creator; (holds decided, their total)."""
    async with services.transaction() as conn:
        anchor = await trust_holds.get(conn, hold_id)
        if anchor is None:
            return 0, Decimal("0.00")
        decided = []
        for hold in await trust_holds.open_for_user(conn, anchor.user_id):
            done = await trust_holds.decide(conn, hold_id=hold.id, decision=decision, admin_id=admin_id, reason=reason)
            if done is not None:
                decided.append(done)
        staged = None
        if decided:
            total = sum((hold.amount for hold in decided), Decimal("0.00"))
            key = "notify.hold.released_many" if decision == trust_holds.RELEASE else "notify.hold.reversed_many"
            params = {"count": len(decided), "amount": str(total), "reason": reason or ""}
            staged = await outbox.add(
                conn, user_id=anchor.user_id, key=key, params=params, dedup_key=f"holds:{decided[0].id}:{decision}:all"
            )
    if decided:
        await services.creator_reads.invalidate(decided[0].user_id)  # held money moved: committed above
    await notices.publish([staged], send=notices.notify_sender(services.send), connect=services.read)
    return len(decided), sum((hold.amount for hold in decided), Decimal("0.00"))


@router.callback_query(AdminHoldCb.filter(F.action == HoldAction.RELEASE_ALL))
async def release_all(
    query: CallbackQuery, callback_data: AdminHoldCb, i18n: Translator, is_admin: bool, services: BotServices
) -> None:
    if await refuse_unless_admin(query, i18n=i18n, is_admin=is_admin):
        return
    card = await pressed.editable_message(query, i18n)
    if card is None:
        return
    count, total = await _decide_all(
        services, hold_id=callback_data.hold_id, decision=trust_holds.RELEASE, admin_id=query.from_user.id, reason=None
    )
    if not count:
        await query.answer(i18n("admin.already_decided"), show_alert=True)
        return
    await query.answer()
    await close_buttons(card)
    await card.answer(i18n("admin.released_holds", count=count, amount=total))


@router.callback_query(AdminHoldCb.filter(F.action == HoldAction.REVERSE_ALL))
async def ask_reverse_all_reason(
    query: CallbackQuery, callback_data: AdminHoldCb, i18n: Translator, is_admin: bool, state: FSMContext
) -> None:
    if await refuse_unless_admin(query, i18n=i18n, is_admin=is_admin):
        return
    await ask_reason(
        query, i18n=i18n, state=state, dialog=AdminDialog.reverse_holds_reason, target_id=callback_data.hold_id
    )


@router.message(AdminDialog.reverse_holds_reason, HasText())
async def reverse_all(
    message: Message, user: User, i18n: Translator, is_admin: bool, services: BotServices, state: FSMContext
) -> None:
    if not is_admin:
        return
    rejection = await take_reason(message, admin=user, state=state)
    count, total = await _decide_all(
        services,
        hold_id=rejection.target_id,
        decision=trust_holds.REVERSE,
        admin_id=rejection.admin_id,
        reason=rejection.reason,
    )
    await message.answer(
        i18n("admin.reversed_holds", count=count, amount=total) if count else i18n("admin.already_decided")
    )
