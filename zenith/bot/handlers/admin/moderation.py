"""Moderation queue: approve (first check starts) or reject with a reason (the creator is told)."""

from __future__ import annotations

from datetime import datetime, timezone

from aiogram import F, Router
from aiogram.filters import Command
from aiogram.fsm.context import FSMContext
from aiogram.types import CallbackQuery, Message

from zenith.bot.callbacks import AdminMenuCb, AdminSection, AdminVideoCb, Decision
from zenith.bot.handlers.admin.filters import user_label
from zenith.bot.keyboards.admin import moderation_keyboard
from zenith.bot.keyboards.inline import cancel_keyboard
from zenith.bot.services import BotServices
from zenith.bot.states import AdminDialog
from zenith.i18n import Translator
from zenith.messaging.contract import CHECK_VIDEOS, NOTIFY
from zenith.storage import audit, users, videos

router = Router(name=__name__)

QUEUE_PAGE = 5
MAX_REASON_LENGTH = 500


async def _send_queue(message: Message, *, i18n: Translator, services: BotServices) -> None:
    async with services.read() as conn:
        queue = await videos.moderation_queue(conn, limit=QUEUE_PAGE)
        total = (await videos.count_by_status(conn))["pending_moderation"]
        owners = {video.user_id: await users.get(conn, video.user_id) for video in queue}
    if not queue:
        await message.answer(i18n("admin.queue_empty"))
        return
    await message.answer(i18n("admin.queue_header", total=total))
    for video in queue:
        await message.answer(
            i18n(
                "admin.video_card",
                video_id=video.id,
                platform=i18n(f"platform.{video.platform}"),
                user=user_label(owners[video.user_id]),
                url=video.url,
                views=video.views,
            ),
            reply_markup=moderation_keyboard(i18n, video_id=video.id),
            disable_web_page_preview=True,
        )


@router.message(Command("moderation"))
async def queue_command(message: Message, i18n: Translator, services: BotServices) -> None:
    await _send_queue(message, i18n=i18n, services=services)


@router.callback_query(AdminMenuCb.filter(F.section == AdminSection.MODERATION))
async def queue_button(query: CallbackQuery, i18n: Translator, services: BotServices) -> None:
    await query.answer()
    await _send_queue(query.message, i18n=i18n, services=services)


@router.callback_query(AdminVideoCb.filter(F.action == Decision.APPROVE))
async def approve(query: CallbackQuery, callback_data: AdminVideoCb, i18n: Translator, is_admin: bool, services: BotServices) -> None:
    if not is_admin:
        await query.answer(i18n("admin.refused"), show_alert=True)
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
        await query.answer(i18n("common.not_available"), show_alert=True)
        return
    if video is None:
        await query.answer(i18n("admin.already_decided"), show_alert=True)
        return
    await services.send(CHECK_VIDEOS, [video.id])
    await services.send(NOTIFY, video.user_id, "notify.video.approved", {"url": video.url}, f"video:{video.id}:approved", None)
    await query.answer()
    await query.message.edit_reply_markup(reply_markup=None)
    await query.message.answer(i18n("admin.approved_video", video_id=video.id))


@router.callback_query(AdminVideoCb.filter(F.action == Decision.REJECT))
async def ask_reject_reason(query: CallbackQuery, callback_data: AdminVideoCb, i18n: Translator, is_admin: bool, services: BotServices, state: FSMContext) -> None:
    if not is_admin:
        await query.answer(i18n("admin.refused"), show_alert=True)
        return
    async with services.read() as conn:
        try:
            video = await videos.get(conn, callback_data.video_id)
        except videos.VideoNotFound:
            video = None
    if video is None:
        await query.answer(i18n("common.not_available"), show_alert=True)
        return
    if video.status != "pending_moderation":
        await query.answer(i18n("admin.already_decided"), show_alert=True)
        return
    await state.set_state(AdminDialog.reject_video_reason)
    await state.update_data(video_id=video.id)
    await query.answer()
    await query.message.answer(i18n("admin.ask_reason"), reply_markup=cancel_keyboard(i18n))


@router.message(AdminDialog.reject_video_reason, F.text)
async def reject(message: Message, i18n: Translator, is_admin: bool, services: BotServices, state: FSMContext) -> None:
    if not is_admin:
        return
    video_id = int((await state.get_data()).get("video_id", 0))
    reason = (message.text or "").strip()[:MAX_REASON_LENGTH]
    admin_id = message.from_user.id
    await state.clear()
    async with services.transaction() as conn:
        video = await videos.set_status(
            conn, video_id=video_id, status="rejected", reason=reason, from_statuses=("pending_moderation",), moderated_by=admin_id
        )
        if video is not None:
            await audit.record(conn, admin_id=admin_id, action="video.reject", target_type="video", target_id=video.id, reason=reason)
    if video is None:
        await message.answer(i18n("admin.already_decided"))
        return
    await services.send(NOTIFY, video.user_id, "notify.video.rejected", {"url": video.url, "reason": reason}, f"video:{video.id}:rejected", None)
    await message.answer(i18n("admin.rejected_video", video_id=video.id))
