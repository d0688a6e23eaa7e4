"""The bot's incoming updates: the pending queue, long polling and the webhook setting.

Follows the Bot API's rules: ``offset`` confirms earlier updates, a negative offset
keeps only the last updates, ``allowed_updates`` is remembered between calls and filters
updates as they are created, a newer getUpdates call ends an older waiting one with 409,
and getUpdates is refused with 409 while a webhook is set.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field
from typing import Any

from zenith.sandbox.errors import bad_request, conflict
from zenith.sandbox.update_ids import UpdateIdReservation

# Update types Telegram sends only when asked for explicitly.
OPT_IN_UPDATES = frozenset({"chat_member", "message_reaction", "message_reaction_count"})
FIRST_UPDATE_ID = 700_000_001


@dataclass
class WebhookConfig:
    """A webhook set by setWebhook (plus delivery health for getWebhookInfo)."""

    url: str
    secret_token: str | None = None
    max_connections: int = 40
    last_error_date: int | None = None
    last_error_message: str | None = None
    ip_address: str = "127.0.0.1"
    delivered: int = 0

    def info(self, *, pending: int, allowed_updates: list[str] | None) -> dict[str, Any]:
        info: dict[str, Any] = {
            "url": self.url,
            "has_custom_certificate": False,
            "pending_update_count": pending,
            "max_connections": self.max_connections,
            "ip_address": self.ip_address,
        }
        if self.last_error_date is not None:
            info["last_error_date"] = self.last_error_date
            info["last_error_message"] = self.last_error_message
        if allowed_updates:
            info["allowed_updates"] = allowed_updates
        return info


@dataclass
class UpdateQueue:
    """Pending updates in order, waiting for getUpdates or the webhook deliverer."""

    pending: list[dict[str, Any]] = field(default_factory=list)
    allowed_updates: list[str] | None = None
    webhook: WebhookConfig | None = None
    next_update_id: int = FIRST_UPDATE_ID
    # keeps ids increasing across restarts (zenith sandbox); None: in memory only
    reservation: UpdateIdReservation | None = None
    closing: bool = False
    _arrived: asyncio.Event = field(default_factory=asyncio.Event)
    _poll_generation: int = 0

    def allows(self, kind: str) -> bool:
        if self.allowed_updates:
            return kind in self.allowed_updates
        return kind not in OPT_IN_UPDATES

    def push(self, kind: str, payload: dict[str, Any]) -> dict[str, Any] | None:
        """Queue an update of type ``kind``; ``None`` if allowed_updates filters it out."""
        if not self.allows(kind):
            return None
        if self.reservation is not None:
            self.reservation.take(self.next_update_id)
        update = {"update_id": self.next_update_id, kind: payload}
        self.next_update_id += 1
        self.pending.append(update)
        self.wake()
        return update

    def wake(self) -> None:
        """Wake every waiter (they re-check their condition)."""
        self._arrived.set()
        self._arrived = asyncio.Event()

    def confirm_below(self, update_id: int) -> None:
        """Forget updates with ids below ``update_id`` (they were received)."""
        self.pending = [u for u in self.pending if u["update_id"] >= update_id]

    def drop_pending(self) -> None:
        self.pending.clear()

    def set_allowed(self, allowed: Any) -> None:
        if allowed is None:
            return
        if not isinstance(allowed, list) or not all(isinstance(a, str) for a in allowed):
            raise bad_request("can't parse allowed updates")
        self.allowed_updates = list(allowed) or None

    async def wait(self, timeout: float) -> None:
        """Sleep until something is queued or changed, at most ``timeout`` seconds."""
        event = self._arrived
        try:
            await asyncio.wait_for(event.wait(), timeout)
        except asyncio.TimeoutError:
            return

    async def get_updates(self, *, offset: int | None, limit: int, timeout: float) -> list[dict[str, Any]]:
        """Long-poll as getUpdates does; see the module docstring for the rules."""
        if self.webhook is not None:
            raise conflict(
                "can't use getUpdates method while webhook is active; use deleteWebhook to delete the webhook first"
            )
        self._poll_generation += 1
        generation = self._poll_generation
        self.wake()  # an older waiting call sees the newer generation and ends with 409
        if offset is not None and offset < 0:
            self.pending = self.pending[offset:]
        elif offset:
            self.confirm_below(offset)
        limit = min(max(limit, 1), 100)
        deadline = time.monotonic() + max(timeout, 0)
        while True:
            if generation != self._poll_generation:
                raise conflict(
                    "terminated by other getUpdates request; make sure that only one bot instance is running"
                )
            if self.webhook is not None:
                raise conflict(
                    "can't use getUpdates method while webhook is active; use deleteWebhook to delete the webhook first"
                )
            remaining = deadline - time.monotonic()
            if self.pending or remaining <= 0 or self.closing:
                return self.pending[:limit]
            await self.wait(remaining)
