"""POST /telegram/webhook: Telegram's updates, accepted only with the right secret token."""

from __future__ import annotations

import asyncio
import hmac
import json
import logging
import time
from urllib.parse import urlsplit

from aiogram import Bot, Dispatcher
from aiogram.types import Update
from aiohttp import web
from pydantic import ValidationError

logger = logging.getLogger(__name__)

SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"
DEFAULT_WEBHOOK_PATH = "/telegram/webhook"
# Telegram re-sends an update answered with a non-2xx status; this tells it when
BUSY_RETRY_AFTER_SECONDS = 1
BUSY_LOG_INTERVAL_SECONDS = 10.0


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

    At most ``max_in_flight`` updates are handled at once. A request finding every slot
    taken waits up to ``slot_wait_seconds`` for one, then is answered 503 with
    ``Retry-After`` and nothing is handled: Telegram delivers the update again later,
    instead of the process accepting more than its database pool can serve and failing
    the updates on their deadline.

    Parameters:
      dispatcher, bot: what handles the updates.
      secret: WEBHOOK_SECRET (required: without one anybody could post updates).
      max_in_flight: updates handled at once (``BotRuntime.max_concurrent_updates``).
      slot_wait_seconds: how long a request may wait for a free slot (default 1 s).
      handle_in_background: answer before handling (default True); tests may wait.
    """

    def __init__(
        self,
        *,
        dispatcher: Dispatcher,
        bot: Bot,
        secret: str,
        max_in_flight: int,
        slot_wait_seconds: float = 1.0,
        handle_in_background: bool = True,
    ) -> None:
        if not secret:
            raise ValueError("a webhook needs WEBHOOK_SECRET")
        if max_in_flight < 1:
            raise ValueError("max_in_flight must be >= 1")
        self.dispatcher = dispatcher
        self.bot = bot
        self._secret = secret.encode()
        self.max_in_flight = max_in_flight
        self.slot_wait_seconds = slot_wait_seconds
        self.handle_in_background = handle_in_background
        self._slots = asyncio.Semaphore(max_in_flight)
        self._tasks: set[asyncio.Task] = set()
        self._in_flight = 0
        self.refused_busy = 0  # requests answered 503 since start
        self._last_busy_log = 0.0

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
        if not await self._take_slot():
            return self._busy()
        if self.handle_in_background:
            task = asyncio.create_task(self._handle(update))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)
        else:
            await self._handle(update)
        return web.json_response({"ok": True})

    @property
    def in_flight(self) -> int:
        """Updates being handled right now."""
        return self._in_flight

    async def _take_slot(self) -> bool:
        """Take a handling slot (at once when one is free); False when none freed in time."""
        try:
            async with asyncio.timeout(self.slot_wait_seconds):
                await self._slots.acquire()
        except TimeoutError:
            return False
        self._in_flight += 1
        return True

    def _busy(self) -> web.Response:
        self.refused_busy += 1
        now = time.monotonic()
        if now - self._last_busy_log >= BUSY_LOG_INTERVAL_SECONDS:  # one line per episode, not per request
            self._last_busy_log = now
            logger.warning(
                "webhook saturated (%d updates in flight): answered 503, %d in all",
                self.max_in_flight,
                self.refused_busy,
            )
        return web.json_response(
            {"ok": False, "error": "busy, retry later"},
            status=503,
            headers={"Retry-After": str(BUSY_RETRY_AFTER_SECONDS)},
        )

    async def _handle(self, update: Update) -> None:
        """Handle one update holding a slot taken by ``_take_slot``; frees it at the end."""
        try:
            await self.dispatcher.feed_update(self.bot, update)
        except Exception:  # the errors router handles handler errors; this is the last guard
            logger.exception("update %s could not be handled", update.update_id)
        finally:
            self._in_flight -= 1
            self._slots.release()

    async def drain(self, *, timeout: float = 10.0) -> None:
        """Wait (up to `timeout`) for updates still being handled; used at shutdown."""
        if self._tasks:
            await asyncio.wait(set(self._tasks), timeout=timeout)
