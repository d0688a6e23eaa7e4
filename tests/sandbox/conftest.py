"""Fixtures: a sandbox on the test's loop, and the echo bot polling it."""

from __future__ import annotations

import asyncio
import contextlib

import pytest

from tests.sandbox.echo_bot import build_dispatcher, sandbox_bot
from zenith.sandbox.runner import start_sandbox


@pytest.fixture
async def sandbox():
    async with start_sandbox() as handle:
        yield handle


@pytest.fixture
async def bot(sandbox):
    bot = sandbox_bot(url=sandbox.url, token=sandbox.token)
    try:
        yield bot
    finally:
        await bot.session.close()


@pytest.fixture
async def echo_bot(sandbox, bot):
    """The echo bot long-polling the sandbox for the duration of the test."""
    dispatcher = build_dispatcher()
    task = asyncio.create_task(
        dispatcher.start_polling(bot, polling_timeout=2, handle_signals=False, close_bot_session=False)
    )
    try:
        yield bot
    finally:
        with contextlib.suppress(RuntimeError):
            await dispatcher.stop_polling()
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
