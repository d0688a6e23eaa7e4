"""One span per update, so a submission's trace starts where the creator's message arrives;
its duration also goes to the ``bot_update_seconds`` histogram."""

from __future__ import annotations

import time
from typing import Any

from aiogram.types import Update
from opentelemetry.trace import SpanKind
from prometheus_client import Histogram

from zenith.bot.middlewares.base import Proceed, UpdateMiddleware
from zenith.config import Settings
from zenith.telemetry.attributes import user_attributes
from zenith.telemetry.metrics import get_metrics
from zenith.telemetry.tracing import tracer, tracing_enabled


class UpdateSpanMiddleware(UpdateMiddleware):
    """Outer middleware on ``dp.update``: span ``telegram update`` (kind SERVER).

    Also observes ``bot_update_seconds{kind=update type}``, errors included.

    Attributes: ``telegram.update_type`` and the pseudonymous ``zenith.user_hash`` (never the
    raw Telegram id). Messages sent while handling the update become its children.

    Parameters:
      settings: for the user-id hashing key.
    """

    def __init__(self, *, settings: Settings) -> None:
        self.settings = settings
        # the histogram's child per kind, looked up once (labels() takes a lock and checks its names)
        self._timers: dict[str, Histogram] = {}

    async def on_update(self, update: Update, data: dict[str, Any], proceed: Proceed) -> Any:
        started = time.perf_counter()
        try:
            if not tracing_enabled():  # no span to name: no attributes, no context to enter
                return await proceed()
            attributes: dict[str, Any] = {"telegram.update_type": update.event_type}
            user = data.get("event_from_user")
            if user is not None:
                attributes.update(user_attributes(user.id, settings=self.settings))
            with tracer("zenith.bot").start_as_current_span(
                "telegram update", kind=SpanKind.SERVER, attributes=attributes
            ):
                return await proceed()
        finally:
            kind = update.event_type
            timer = self._timers.get(kind)
            if timer is None:
                timer = self._timers[kind] = get_metrics().bot_update_seconds.labels(kind=kind)
            timer.observe(time.perf_counter() - started)
