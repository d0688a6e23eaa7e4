"""Moderation queue: approve (first check starts) or reject with a reason (the creator is told)."""

from __future__ import annotations

from datetime import datetime, timezone

from aiogram import F, Router
from aiogram.filters import Command
from aiogram.fsm.context import FSMContext
from aiogram.types import CallbackQuery, Message

from zenith.bot.callbacks import AdminMenuCb, AdminSection, AdminVideoCb, Decision
from zenith.bot.handlers.admin.decisions import (
    Card,
    answer_undecidable,
    ask_reason,
    confirm_decision,
    refuse_unless_admin,
    send_queue,
    take_reason,
)
from zenith.bot.handlers.admin.filters import user_label
from zenith.bot.keyboards.admin import moderation_keyboard
from zenith.bot.services import BotServices
from zenith.bot.states import AdminDialog
from zenith.i18n import Translator
from zenith.messaging.contract import CHECK_VIDEOS, NOTIFY
from zenith.storage import audit, users, videos

router = Router(name=__name__)

QUEUE_PAGE = 5


async def _send_queue(message: Message, *, i18n: Translator, services: BotServices) -> None:
    async with services.read() as conn:
        queue = await videos.moderation_queue(conn, limit=QUEUE_PAGE)
        total = (await videos.count_by_status(conn))["pending_moderation"]
        owners = {video.user_id: await users.get(conn, video.user_id) for video in queue}
    cards = [
        Card(
            text=i18n(
                "admin.video_card",
                video_id=video.id,
                platform=i18n(f"platform.{video.platform}"),
                title=video.title or "—",
                author=video.author or "—",
                user=user_label(owners[video.user_id]),
                tier=i18n(f"tier.name_{owners[video.user_id].tier}"),
                url=video.url,
                submitted=video.submitted_at,
            ),
            keyboard=moderation_keyboard(i18n, video_id=video.id),
        )
        for video in queue
    ]
    header = i18n("admin.queue_header", total=total, shown=len(cards))
    await send_queue(message, i18n=i18n, header=header, cards=cards, empty_key="admin.queue_empty")


@router.message(Command("moderation"))
async def queue_command(message: Message, i18n: Translator, services: BotServices) -> None:
    await _send_queue(message, i18n=i18n, services=services)


@router.callback_query(AdminMenuCb.filter(F.section == AdminSection.MODERATION))
async def queue_button(query: CallbackQuery, i18n: Translator, services: BotServices) -> None:
    await query.answer()
    await _send_queue(query.message, i18n=i18n, services=services)


@router.callback_query(AdminVideoCb.filter(F.action == Decision.APPROVE))
async def approve(query: CallbackQuery, callback_data: AdminVideoCb, i18n: Translator, is_admin: bool, services: BotServices) -> None:
    if await refuse_unless_admin(query, i18n=i18n, is_admin=is_admin):
        return
    admin_id = query.from_user.id
    try:
        async with services.transaction() as conn:
            video = await videos.set_status(
                conn,
                video_id=callback_data.video_id,
                status="approved",
                from_statuses=("pending_moderation",),
                moderated_by=admin_id,
                next_check_at=datetime.now(timezone.utc),
            )
            if video is not None:
                await audit.record(conn, admin_id=admin_id, action="video.approve", target_type="video", target_id=video.id)
    except videos.VideoNotFound:
        await answer_undecidable(query, i18n=i18n, found=False)
        return
    if video is None:
        await answer_undecidable(query, i18n=i18n, found=True)
        return
    await services.send(CHECK_VIDEOS, [video.id])
    await services.send(NOTIFY, video.user_id, "notify.video.approved", {"url": video.url}, f"video:{video.id}:approved", None)
    await confirm_decision(query, text=i18n("admin.approved_video", video_id=video.id))


@router.callback_query(AdminVideoCb.filter(F.action == Decision.REJECT))
async def ask_reject_reason(query: CallbackQuery, callback_data: AdminVideoCb, i18n: Translator, is_admin: bool, services: BotServices, state: FSMContext) -> None:
    if await refuse_unless_admin(query, i18n=i18n, is_admin=is_admin):
        return
    async with services.read() as conn:
        try:
            video = await videos.get(conn, callback_data.video_id)
        except videos.VideoNotFound:
            video = None
    if video is None or video.status != "pending_moderation":
        await answer_undecidable(query, i18n=i18n, found=video is not None)
        return
    await ask_reason(query, i18n=i18n, state=state, dialog=AdminDialog.reject_video_reason, target_id=video.id)


@router.message(AdminDialog.reject_video_reason, F.text)
async def reject(message: Message, i18n: Translator, is_admin: bool, services: BotServices, state: FSMContext) -> None:
    if not is_admin:
        return
    rejection = await take_reason(message, state=state)
    async with services.transaction() as conn:
        video = await videos.set_status(
            conn,
            video_id=rejection.target_id,
            status="rejected",
            reason=rejection.reason,
            from_statuses=("pending_moderation",),
            moderated_by=rejection.admin_id,
        )
        if video is not None:
            await audit.record(
                conn, admin_id=rejection.admin_id, action="video.reject", target_type="video", target_id=video.id, reason=rejection.reason
            )
    if video is None:
        await message.answer(i18n("admin.already_decided"))
        return
    params = {"url": video.url, "reason": rejection.reason}
    await services.send(NOTIFY, video.user_id, "notify.video.rejected", params, f"video:{video.id}:rejected", None)
    await message.answer(i18n("admin.rejected_video", video_id=video.id))
