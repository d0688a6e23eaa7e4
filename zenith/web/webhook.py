"""POST /telegram/webhook: Telegram's updates, accepted only with the right secret token."""

from __future__ import annotations

import asyncio
import hmac
import json
import logging
from urllib.parse import urlsplit

from aiogram import Bot, Dispatcher
from aiogram.types import Update
from aiohttp import web
from pydantic import ValidationError

logger = logging.getLogger(__name__)

SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"
DEFAULT_WEBHOOK_PATH = "/telegram/webhook"


def webhook_path(webhook_url: str | None) -> str:
    """The path the app serves the webhook on: WEBHOOK_URL's path, or /telegram/webhook."""
    if not webhook_url:
        return DEFAULT_WEBHOOK_PATH
    path = urlsplit(webhook_url).path
    return path if path and path != "/" else DEFAULT_WEBHOOK_PATH


def public_webhook_url(webhook_url: str) -> str:
    """WEBHOOK_URL with the default path appended when it names only a host."""
    parts = urlsplit(webhook_url)
    if parts.path and parts.path != "/":
        return webhook_url
    return webhook_url.rstrip("/") + DEFAULT_WEBHOOK_PATH


class WebhookHandler:
    """Feeds Telegram's webhook requests to the dispatcher.

    The secret token header is compared in constant time (``hmac.compare_digest``); a
    missing or wrong one is answered 401 and nothing is handled. A body that is not an
    Update is answered 400. Updates are handled in the background by default and the
    request answered at once, so a slow update never makes Telegram time out and resend.

    Parameters:
      dispatcher, bot: what handles the updates.
      secret: WEBHOOK_SECRET (required: without one anybody could post updates).
      handle_in_background: answer before handling (default True); tests may wait.
    """

    def __init__(self, *, dispatcher: Dispatcher, bot: Bot, secret: str, handle_in_background: bool = True) -> None:
        if not secret:
            raise ValueError("a webhook needs WEBHOOK_SECRET")
        self.dispatcher = dispatcher
        self.bot = bot
        self._secret = secret.encode()
        self.handle_in_background = handle_in_background
        self._tasks: set[asyncio.Task] = set()

    def authorised(self, request: web.Request) -> bool:
        given = request.headers.get(SECRET_HEADER, "").encode()
        return hmac.compare_digest(given, self._secret)

    async def __call__(self, request: web.Request) -> web.Response:
        if not self.authorised(request):
            logger.warning("webhook request with a missing or wrong secret token from %s", request.remote)
            return web.json_response({"ok": False, "error": "unauthorized"}, status=401)
        try:
            payload = await request.json(loads=json.loads)
            update = Update.model_validate(payload, context={"bot": self.bot})
        except (ValueError, ValidationError):
            return web.json_response({"ok": False, "error": "not a Telegram update"}, status=400)
        if self.handle_in_background:
            task = asyncio.create_task(self._handle(update))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)
        else:
            await self._handle(update)
        return web.json_response({"ok": True})

    async def _handle(self, update: Update) -> None:
        try:
            await self.dispatcher.feed_update(self.bot, update)
        except Exception:  # the errors router handles handler errors; this is the last guard
            logger.exception("update %s could not be handled", update.update_id)

    async def drain(self, *, timeout: float = 10.0) -> None:
        """Wait (up to `timeout`) for updates still being handled; used at shutdown."""
        if self._tasks:
            await asyncio.wait(set(self._tasks), timeout=timeout)
