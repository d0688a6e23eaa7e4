"""My videos: a paginated list, and each video's card with its history and chart."""

from __future__ import annotations

import asyncio
import math

from aiogram import Router
from aiogram.exceptions import TelegramBadRequest
from aiogram.filters import Command
from aiogram.types import BufferedInputFile, CallbackQuery, InlineKeyboardMarkup, Message

from zenith.bot import pressed
from zenith.bot.callbacks import VideoCb, VideosPageCb
from zenith.bot.charts import views_chart_png
from zenith.bot.keyboards.inline import video_card_keyboard, videos_keyboard
from zenith.bot.keyboards.menu import menu_button
from zenith.bot.services import BotServices
from zenith.domain.videos import VideoStatus
from zenith.i18n import Translator
from zenith.storage import campaigns, snapshots, videos
from zenith.storage.users import User

router = Router(name=__name__)

PAGE_SIZE = 5
HISTORY_LINES = 8
CAPTION_LIMIT = 1024
STATUS_ICONS = {
    VideoStatus.PENDING_MODERATION: "⏳",
    VideoStatus.APPROVED: "🟢",
    VideoStatus.REJECTED: "✖️",
    VideoStatus.FAILED: "⚠️",
    VideoStatus.FINISHED: "🏁",
}


# a list line or button shows the title cut to this many characters
TITLE_LENGTH = 40


def _status(i18n: Translator, status: str) -> str:
    return i18n(f"videos.status.{status}")


def video_title(video: videos.Video, *, limit: int | None = TITLE_LENGTH) -> str:
    """The video's title (platform's, shortened to `limit`), else its id on the platform.

    Five videos of one platform are otherwise indistinguishable in the list.
    """
    title = " ".join((video.title or "").split()) or video.external_id
    if limit is not None and len(title) > limit:
        return title[: limit - 1].rstrip() + "…"
    return title


class PageNotFound(LookupError):
    """A page past the end of the list (it shrank, or the button is forged)."""


async def _page(services: BotServices, i18n: Translator, *, user: User, page: int) -> tuple[str, InlineKeyboardMarkup]:
    """The list text and keyboard of one page; PageNotFound when the page does not exist (the first always does)."""
    if page < 0:
        raise PageNotFound(page)
    async with asyncio.timeout(services.db_timeout):  # cached; PostgreSQL on a miss or with Redis down
        listing = await services.creator_reads.video_page(user.id, limit=PAGE_SIZE, offset=page * PAGE_SIZE)
    pages = max(1, math.ceil(listing.total / PAGE_SIZE))
    if page >= pages:
        raise PageNotFound(page)
    if not listing.items:
        return i18n("videos.empty"), videos_keyboard(i18n, buttons=[], page=0, pages=1)
    buttons = []
    lines = [i18n("videos.header", total=listing.total)]
    names = await _campaign_names(services, {video.campaign_id for video in listing.items})
    for video in listing.items:
        params = dict(
            icon=STATUS_ICONS.get(video.status, "•"),
            title=video_title(video),
            platform=i18n(f"platform.{video.platform}"),
            views=video.views,
            earned=video.credited,
            status=_status(i18n, video.status),
        )
        lines.append(i18n("videos.line", **params) + _campaign_line(i18n, names, video))
        buttons.append((video.id, i18n("videos.button", **params)))
    return "\n".join(lines), videos_keyboard(i18n, buttons=buttons, page=page, pages=pages)


async def _campaign_names(services: BotServices, campaign_ids: set[int]) -> dict[int, str]:
    """campaign id -> name, for the campaign line under each video."""
    async with services.read() as conn:
        return {campaign_id: c.name for campaign_id, c in (await campaigns.get_many(conn, campaign_ids)).items()}


def _campaign_line(i18n: Translator, names: dict[int, str], video: videos.Video) -> str:
    name = names.get(video.campaign_id)
    return "\n      " + i18n("creator_campaigns.video_campaign", name=name) if name else ""


@router.message(Command("videos"))
@router.message(menu_button("menu.videos"))
async def list_videos(message: Message, user: User, i18n: Translator, services: BotServices) -> None:
    text, keyboard = await _page(services, i18n, user=user, page=0)
    await message.answer(text, reply_markup=keyboard)


@router.callback_query(VideosPageCb.filter())
async def turn_page(
    query: CallbackQuery, callback_data: VideosPageCb, user: User, i18n: Translator, services: BotServices
) -> None:
    try:
        text, keyboard = await _page(services, i18n, user=user, page=callback_data.page)
    except PageNotFound:
        await query.answer(i18n("common.not_available"), show_alert=True)
        return
    message = await pressed.reply_target(query, i18n)
    if message is None:
        return
    await query.answer()
    if isinstance(message, Message) and message.text is not None:
        try:
            await message.edit_text(text, reply_markup=keyboard)
        except TelegramBadRequest:  # same page pressed again: "message is not modified"
            pass
    else:  # coming back from a chart photo, or from a message the bot can no longer edit
        await message.answer(text, reply_markup=keyboard)


@router.callback_query(VideoCb.filter())
async def video_card(
    query: CallbackQuery, callback_data: VideoCb, user: User, i18n: Translator, is_admin: bool, services: BotServices
) -> None:
    async with services.read() as conn:
        try:
            video = await videos.get(conn, callback_data.video_id)
        except videos.VideoNotFound:
            video = None
        history = (
            await snapshots.list_for_video(conn, video_id=video.id)
            if video and (video.user_id == user.id or is_admin)
            else []
        )
        campaign = (await campaigns.get_many(conn, [video.campaign_id])).get(video.campaign_id) if video else None
    # callback ids are never trusted: a creator sees only their own videos
    if video is None or (video.user_id != user.id and not is_admin):
        await query.answer(i18n("common.not_available"), show_alert=True)
        return
    message = await pressed.reply_target(query, i18n)
    if message is None:
        return
    await query.answer()
    platform = i18n(f"platform.{video.platform}")
    parts = [
        i18n(
            "videos.card",
            title=video_title(video, limit=None),
            platform=platform,
            status=_status(i18n, video.status),
            url=video.url,
            views=video.views,
            earned=video.credited,
            submitted=video.submitted_at,
        )
    ]
    if campaign is not None:
        parts[0] += "\n" + i18n("creator_campaigns.video_campaign", name=campaign.name)
    if video.status_reason and video.status in (VideoStatus.REJECTED, VideoStatus.FAILED):
        parts.append(i18n("videos.card_reason", reason=video.status_reason))
    if history:
        lines = [i18n("videos.history_line", when=s.taken_at, views=s.views) for s in history[-HISTORY_LINES:]]
        parts.append("\n".join([i18n("videos.history_header"), *reversed(lines)]))
    else:
        parts.append(i18n("videos.history_empty"))
    text = "\n\n".join(parts)
    keyboard = video_card_keyboard(i18n, page=max(0, callback_data.page))
    if len(history) >= 2 and len(text) <= CAPTION_LIMIT:
        points = [(s.taken_at, s.views) for s in history]
        png = await asyncio.to_thread(views_chart_png, points, title=i18n("videos.chart_title"))
        await message.answer_photo(
            BufferedInputFile(png, filename=f"video-{video.id}.png"), caption=text, reply_markup=keyboard
        )
        return
    await message.answer(text, reply_markup=keyboard, disable_web_page_preview=True)
