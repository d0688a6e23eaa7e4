"""A tiny aiogram 3 bot used to drive the sandbox the way the real bot will."""

from __future__ import annotations

import struct
import zlib

from aiogram import Bot, Dispatcher, F, Router
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer
from aiogram.filters import CommandStart
from aiogram.types import (
    BufferedInputFile,
    CallbackQuery,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    KeyboardButton,
    Message,
    ReplyKeyboardMarkup,
)


def tiny_png(width: int = 3, height: int = 2) -> bytes:
    """A valid PNG of the given size (grey pixels)."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    raw = b"".join(b"\x00" + b"\x80" * width for _ in range(height))
    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b"")


PHOTO = tiny_png()


def start_keyboard() -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(
        inline_keyboard=[
            [InlineKeyboardButton(text="Like", callback_data="like:1")],
            [InlineKeyboardButton(text="Photo", callback_data="photo")],
        ]
    )


def build_router() -> Router:
    router = Router(name="echo")

    @router.message(CommandStart())
    async def start(message: Message) -> None:
        await message.answer(
            "Menu below",
            reply_markup=ReplyKeyboardMarkup(
                keyboard=[[KeyboardButton(text="Help"), KeyboardButton(text="Balance")]], resize_keyboard=True
            ),
        )
        await message.answer(
            f"Hello, <b>{message.from_user.first_name}</b>!", parse_mode="HTML", reply_markup=start_keyboard()
        )

    @router.callback_query(F.data.startswith("like:"))
    async def like(callback: CallbackQuery) -> None:
        await callback.answer("Liked!")
        await callback.message.edit_text("You liked it")

    @router.callback_query(F.data == "photo")
    async def photo(callback: CallbackQuery) -> None:
        await callback.answer()
        await callback.message.answer_photo(BufferedInputFile(PHOTO, filename="chart.png"), caption="Your chart")

    @router.callback_query()
    async def unknown(callback: CallbackQuery) -> None:
        await callback.answer("Unknown button", show_alert=True)

    @router.message(F.text)
    async def echo(message: Message) -> None:
        await message.answer(f"echo: {message.text}")

    return router


def sandbox_bot(*, url: str, token: str) -> Bot:
    """An aiogram Bot whose requests go to the sandbox at ``url``."""
    return Bot(token=token, session=AiohttpSession(api=TelegramAPIServer.from_base(url)))


def build_dispatcher() -> Dispatcher:
    dispatcher = Dispatcher()
    dispatcher.include_router(build_router())
    return dispatcher
