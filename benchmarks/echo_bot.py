"""A bare aiogram echo bot: the yardstick `bot_vs_echo.py` measures `zenith bot` against.

    TELEGRAM_API_URL=http://127.0.0.1:8081 TELEGRAM_BOT_TOKEN=... python benchmarks/echo_bot.py

Long polling with aiogram's defaults (no middleware, no storage beyond memory, no
database): every text message is answered with its own text. Stops on SIGTERM/SIGINT.
`bot_dispatch_cost.py` runs the same dispatcher in-process.
"""

from __future__ import annotations

import asyncio
import os

from aiogram import Bot, Dispatcher
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer
from aiogram.types import Message


def build_echo_dispatcher() -> Dispatcher:
    """aiogram's Dispatcher with one handler: a text message is answered with its text."""
    dispatcher = Dispatcher()

    @dispatcher.message()
    async def echo(message: Message) -> None:
        await message.answer(message.text or "?")

    return dispatcher


async def main() -> None:
    session = AiohttpSession(api=TelegramAPIServer.from_base(os.environ["TELEGRAM_API_URL"]))
    bot = Bot(token=os.environ["TELEGRAM_BOT_TOKEN"], session=session)
    await bot.delete_webhook()
    await build_echo_dispatcher().start_polling(bot, handle_signals=True)


if __name__ == "__main__":
    asyncio.run(main())
