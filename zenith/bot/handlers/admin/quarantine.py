"""Videos in quarantine: the platform's answer about them could not be understood.

``/quarantine`` lists the newest (video, reason, the raw answer cut short);
``/quarantine ID`` releases video ID: it is due for a check again at once.
"""

from __future__ import annotations

import logging
from datetime import datetime, timezone

from aiogram import Router
from aiogram.filters import Command, CommandObject
from aiogram.types import Message

from zenith.bot.services import BotServices
from zenith.i18n import Translator
from zenith.storage import check_faults
from zenith.storage.users import User

logger = logging.getLogger(__name__)

router = Router(name=__name__)

LIST_SIZE = 10
RAW_SHOWN = 300  # characters of the raw answer per entry; the full text stays in the database
MAX_VIDEO_ID = 2**63 - 1


def _raw(text: str) -> str:
    return text if len(text) <= RAW_SHOWN else text[: RAW_SHOWN - 1] + "…"


async def quarantine_text(i18n: Translator, services: BotServices) -> str:
    """The list of quarantined videos, newest first (a header with the total, then entries)."""
    async with services.read() as conn:
        total = await check_faults.count_quarantined(conn)
        entries = await check_faults.list_quarantined(conn, limit=LIST_SIZE)
    if not entries:
        return i18n("admin.quarantine_empty")
    lines = [i18n("admin.quarantine_header", total=total, shown=len(entries))]
    for entry in entries:
        lines.append(
            i18n(
                "admin.quarantine_line",
                video_id=entry.video_id,
                platform=i18n(f"platform.{entry.platform}"),
                url=entry.url,
                reason=entry.reason,
                attempts=entry.attempts,
                when=entry.quarantined_at,
                raw=_raw(entry.raw_answer),
            )
        )
    lines.append(i18n("admin.quarantine_hint"))
    return "\n\n".join(lines)


@router.message(Command("quarantine"))
async def quarantine_command(
    message: Message, command: CommandObject, user: User, i18n: Translator, services: BotServices
) -> None:
    argument = (command.args or "").strip()
    if not argument:
        await message.answer(await quarantine_text(i18n, services), disable_web_page_preview=True)
        return
    if not argument.isdigit() or not 0 < int(argument) <= MAX_VIDEO_ID:
        await message.answer(i18n("admin.quarantine_usage"))
        return
    video_id = int(argument)
    async with services.transaction() as conn:
        released = await check_faults.release(
            conn, video_id=video_id, released_by=user.id, now=datetime.now(timezone.utc)
        )
    if not released:
        await message.answer(i18n("admin.quarantine_not_found", video_id=video_id))
        return
    logger.info("video %s released from quarantine by admin %s", video_id, user.id)
    await message.answer(i18n("admin.quarantine_released", video_id=video_id))
