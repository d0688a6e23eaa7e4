"""Balance: available, reserved (held, when any) and paid out, with the latest transfers (read through the cache)."""

from __future__ import annotations

import asyncio

from aiogram import Router
from aiogram.filters import Command
from aiogram.types import Message

from zenith.bot.keyboards.menu import menu_button
from zenith.bot.services import BotServices
from zenith.i18n import Translator
from zenith.storage import ledger
from zenith.storage.users import User

router = Router(name=__name__)

HISTORY_LIMIT = 10


def _sign(transfer: ledger.Transfer, *, own: set[str]) -> str:
    """+ money came to the user, − it left them, none when it moved between their accounts."""
    into, out_of = transfer.to_account in own, transfer.from_account in own
    if into and not out_of:
        return "+"
    if out_of and not into:
        return "−"
    return ""


@router.message(Command("balance"))
@router.message(menu_button("menu.balance"))
async def show_balance(message: Message, user: User, i18n: Translator, services: BotServices) -> None:
    async with asyncio.timeout(services.db_timeout):  # cached; PostgreSQL on a miss or with Redis down
        balance = await services.creator_reads.balance(user.id, HISTORY_LIMIT)
    stats, transfers = balance.stats, balance.transfers
    own = {ledger.available_account(user.id), ledger.reserved_account(user.id)}
    parts = [i18n("balance.text", available=stats.available, reserved=stats.reserved, paid=stats.paid_out)]
    if stats.held > 0:  # growth held for review: shown, never withdrawable
        parts[0] += "\n" + i18n("balance.held", held=stats.held)
    if transfers:
        names = balance.campaign_names()
        lines = [
            i18n(
                "balance.history_line",
                when=t.created_at,
                sign=_sign(t, own=own),
                amount=t.amount,
                kind=i18n(f"balance.kind.{t.kind}"),
            )
            + (i18n("creator_campaigns.history_campaign", name=names[t.video_id]) if t.video_id in names else "")
            for t in transfers
        ]
        parts.append("\n".join([i18n("balance.history_header"), *lines]))
    else:
        parts.append(i18n("balance.history_empty"))
    await message.answer("\n\n".join(parts))
