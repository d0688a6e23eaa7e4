"""Moderation queue: approve (first check starts) or reject with a reason (the creator is told)."""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

import psycopg
from aiogram import F, Router
from aiogram.filters import Command
from aiogram.fsm.context import FSMContext
from aiogram.types import CallbackQuery, Message

from zenith.bot import pressed
from zenith.bot.callbacks import AdminMenuCb, AdminQueue, AdminQueuePageCb, AdminSection, AdminVideoCb, Decision
from zenith.bot.filters import HasText
from zenith.bot.handlers.admin.decisions import (
    Card,
    DecisionKind,
    approve_target,
    finish_rejection,
    read_queue_page,
    send_queue,
    start_rejection,
    turn_queue_page,
)
from zenith.bot.handlers.admin.filters import user_label
from zenith.bot.keyboards.admin import moderation_keyboard
from zenith.bot.services import BotServices
from zenith.bot.states import AdminDialog
from zenith.domain.videos import VideoStatus
from zenith.i18n import Translator
from zenith.messaging.contract import CHECK_VIDEOS
from zenith.storage import audit, users, videos
from zenith.storage.users import User
from zenith.telemetry.subject import tag_video

router = Router(name=__name__)


async def _count_waiting(conn: psycopg.AsyncConnection[Any]) -> int:
    return await videos.count_with_status(conn, status=VideoStatus.PENDING_MODERATION)


async def _send_queue(message: pressed.ChatMessage, *, i18n: Translator, services: BotServices, page: int = 0) -> None:
    async with services.read() as conn:
        shown = await read_queue_page(conn, oldest=videos.moderation_queue, count=_count_waiting, page=page)
        queue = shown.items
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
    await send_queue(
        message,
        i18n=i18n,
        queue=AdminQueue.MODERATION,
        shown=shown,
        cards=cards,
        header_key="admin.queue_header",
        empty_key="admin.queue_empty",
    )


@router.message(Command("moderation"))
async def queue_command(message: Message, i18n: Translator, services: BotServices) -> None:
    await _send_queue(message, i18n=i18n, services=services)


@router.callback_query(AdminMenuCb.filter(F.section == AdminSection.MODERATION))
async def queue_button(query: CallbackQuery, i18n: Translator, services: BotServices) -> None:
    message = await pressed.reply_target(query, i18n)
    if message is None:
        return
    await query.answer()
    await _send_queue(message, i18n=i18n, services=services)


@router.callback_query(AdminQueuePageCb.filter(F.queue == AdminQueue.MODERATION))
async def queue_page(
    query: CallbackQuery, callback_data: AdminQueuePageCb, i18n: Translator, is_admin: bool, services: BotServices
) -> None:
    message = await turn_queue_page(query, i18n=i18n, is_admin=is_admin)
    if message is not None:
        await _send_queue(message, i18n=i18n, services=services, page=callback_data.page)


async def _approve(conn: psycopg.AsyncConnection[Any], video_id: int, admin_id: int) -> videos.Video | None:
    video = await videos.set_status(
        conn,
        video_id=video_id,
        status=VideoStatus.APPROVED,
        from_statuses=(VideoStatus.PENDING_MODERATION,),
        moderated_by=admin_id,
        next_check_at=datetime.now(timezone.utc),
    )
    if video is not None:
        await audit.record(conn, admin_id=admin_id, action="video.approve", target_type="video", target_id=video.id)
    return video


async def _reject(conn: psycopg.AsyncConnection[Any], video_id: int, admin_id: int, reason: str) -> videos.Video | None:
    video = await videos.set_status(
        conn,
        video_id=video_id,
        status=VideoStatus.REJECTED,
        reason=reason,
        from_statuses=(VideoStatus.PENDING_MODERATION,),
        moderated_by=admin_id,
    )
    if video is not None:
        await audit.record(
            conn, admin_id=admin_id, action="video.reject", target_type="video", target_id=video.id, reason=reason
        )
    return video


def _approved_notice(video: videos.Video) -> dict[str, Any]:
    # the creator hears that the video earns
    return {
        "user_id": video.user_id,
        "key": "notify.video.approved",
        "params": {"url": video.url},
        "dedup_key": f"video:{video.id}:approved",
    }


def _rejected_notice(video: videos.Video, reason: str) -> dict[str, Any]:
    params = {"url": video.url, "reason": reason}
    return {
        "user_id": video.user_id,
        "key": "notify.video.rejected",
        "params": params,
        "dedup_key": f"video:{video.id}:rejected",
    }


async def _after_approve(services: BotServices, video: videos.Video) -> None:
    # the first check starts now (if this message is lost, next_check_at = now makes the clock send it)
    await services.send(CHECK_VIDEOS, [video.id])


VIDEO = DecisionKind(
    dialog=AdminDialog.reject_video_reason,
    load=videos.get,
    missing=videos.VideoNotFound,
    pending=lambda video: video.status == VideoStatus.PENDING_MODERATION,
    approve=_approve,
    reject=_reject,
    tag=lambda video: tag_video(video.id, video.platform),
    approved_notice=_approved_notice,
    rejected_notice=_rejected_notice,
    after_approve=_after_approve,
    approved_key="admin.approved_video",
    rejected_key="admin.rejected_video",
    id_param="video_id",
)


@router.callback_query(AdminVideoCb.filter(F.action == Decision.APPROVE))
async def approve(
    query: CallbackQuery, callback_data: AdminVideoCb, i18n: Translator, is_admin: bool, services: BotServices
) -> None:
    await approve_target(
        query, kind=VIDEO, target_id=callback_data.video_id, i18n=i18n, is_admin=is_admin, services=services
    )


@router.callback_query(AdminVideoCb.filter(F.action == Decision.REJECT))
async def ask_reject_reason(
    query: CallbackQuery,
    callback_data: AdminVideoCb,
    i18n: Translator,
    is_admin: bool,
    services: BotServices,
    state: FSMContext,
) -> None:
    await start_rejection(
        query,
        kind=VIDEO,
        target_id=callback_data.video_id,
        i18n=i18n,
        is_admin=is_admin,
        services=services,
        state=state,
    )


@router.message(AdminDialog.reject_video_reason, HasText())
async def reject(
    message: Message, user: User, i18n: Translator, is_admin: bool, services: BotServices, state: FSMContext
) -> None:
    await finish_rejection(
        message, kind=VIDEO, admin=user, i18n=i18n, is_admin=is_admin, services=services, state=state
    )
