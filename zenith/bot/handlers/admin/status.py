"""System status for admins: queue depths, worker pools, exchange-rate age, work waiting in PostgreSQL."""

from __future__ import annotations

import asyncio
import time
from datetime import datetime, timezone
from typing import Any

from aiogram import F, Router
from aiogram.filters import Command
from aiogram.types import CallbackQuery, Message

from zenith.bot import pressed
from zenith.bot.callbacks import AdminMenuCb, AdminSection
from zenith.bot.services import BotServices
from zenith.i18n import Markup, Translator
from zenith.storage import check_faults, rates, submissions
from zenith.supervisor.status import collect, is_fresh, queue_depths

router = Router(name=__name__)

STATUS_TIMEOUT_SECONDS = 5.0


def _pools(i18n: Translator, snapshots: list[dict[str, Any]]) -> list[tuple[str, str]]:
    """(pool name, "2/2 running, 0 restarts") from the supervisors' snapshots."""
    rows = []
    now = time.time()
    for snapshot in snapshots:
        stale = not is_fresh(snapshot, now=now)
        for pool in snapshot.get("pools", []):
            slots = pool.get("slots", [])
            running = sum(1 for slot in slots if slot.get("state") == "running")
            state = i18n(
                "admin.status_pool_state",
                running=running,
                total=pool.get("processes", len(slots)),
                restarts=pool.get("restarts", 0),
            )
            rows.append((str(pool.get("name", "?")), f"{state} {i18n('admin.status_stale')}" if stale else state))
    return rows


async def _status_text(i18n: Translator, services: BotServices) -> str:
    settings = services.settings
    # both read Redis/files synchronously: run them off the event loop, under a deadline
    async with asyncio.timeout(STATUS_TIMEOUT_SECONDS):
        depths, _note = await asyncio.to_thread(queue_depths, settings, namespace=settings.redis_namespace)
        snapshots = await asyncio.to_thread(collect, settings)
    async with services.read() as conn:
        latest = await rates.latest_all(conn)
        received = await submissions.count_waiting(conn)
        quarantined = await check_faults.count_quarantined(conn)
    now = datetime.now(timezone.utc)
    none = i18n("admin.status_none")
    queues = [i18n("admin.status_queue_line", queue=name, depth=depth) for name, depth in depths.items()]
    pools = [i18n("admin.status_pool_line", pool=name, state=state) for name, state in _pools(i18n, snapshots)]
    rate_lines = [
        i18n("admin.status_rate_line", asset=asset, rate=rate.rate, age=int((now - rate.fetched_at).total_seconds()))
        for asset, rate in sorted(latest.items())
    ]
    return i18n(
        "admin.status_text",
        queues=Markup("\n".join(queues) or none),
        pools=Markup("\n".join(pools) or none),
        rates=Markup("\n".join(rate_lines) or none),
        work=Markup(i18n("admin.status_work", received=received, quarantined=quarantined)),
    )


@router.message(Command("status"))
async def status_command(message: Message, i18n: Translator, services: BotServices) -> None:
    await message.answer(await _status_text(i18n, services))


@router.callback_query(AdminMenuCb.filter(F.section == AdminSection.STATUS))
async def status_button(query: CallbackQuery, i18n: Translator, services: BotServices) -> None:
    message = await pressed.reply_target(query, i18n)
    if message is None:
        return
    await query.answer()
    await message.answer(await _status_text(i18n, services))
