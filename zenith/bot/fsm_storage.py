"""Dialog state in Redis that lets the bot keep answering while Redis is down.

aiogram reads the FSM state before every handler, so with a plain ``RedisStorage`` a dead
Redis fails every update, /balance included. ``FailOpenStorage`` reads "no dialog" when
Redis is unreachable and lets clearing a dialog pass (nothing could be read back anyway);
starting or advancing a dialog still raises, so the creator is told to try again instead
of silently losing the step.

``StatePrefetch`` saves the state read its own round trip: the update's de-duplication
script reads the state key in the same call, and the storage hands that value to
aiogram's FSM middleware instead of asking Redis again.
"""

from __future__ import annotations

import logging
import time
from contextvars import ContextVar
from typing import Any, Mapping

from aiogram import Bot
from aiogram.fsm.middleware import FSMContextMiddleware
from aiogram.fsm.state import State
from aiogram.fsm.storage.base import BaseStorage, KeyBuilder, StateType, StorageKey
from redis.exceptions import RedisError

logger = logging.getLogger(__name__)

WARN_EVERY_SECONDS = 60.0
# the dialog state read together with the update's claim: (key, state), used once. Each
# update is handled in a task of its own, so the value never leaks into another update.
_PREFETCHED: ContextVar[tuple[StorageKey, str | None] | None] = ContextVar("prefetched_state", default=None)


class FailOpenStorage(BaseStorage):
    """Wraps an FSM storage (``RedisStorage``); see the module docstring.

    Parameters:
      storage: the storage that keeps the state.
    """

    def __init__(self, storage: BaseStorage) -> None:
        self.storage = storage
        self._warned_at = float("-inf")

    def _warn(self, exc: Exception) -> None:
        now = time.monotonic()
        if now - self._warned_at >= WARN_EVERY_SECONDS:
            self._warned_at = now
            logger.warning("dialog state unavailable, answering without it (Redis: %s)", exc)

    async def get_state(self, key: StorageKey) -> str | None:
        prefetched = _PREFETCHED.get()
        if prefetched is not None and prefetched[0] == key:
            _PREFETCHED.set(None)  # a later read (after a handler set a state) asks Redis
            return prefetched[1]
        try:
            return await self.storage.get_state(key)
        except RedisError as exc:
            self._warn(exc)
            return None

    async def get_data(self, key: StorageKey) -> dict[str, Any]:
        try:
            return await self.storage.get_data(key)
        except RedisError as exc:
            self._warn(exc)
            return {}

    async def set_state(self, key: StorageKey, state: StateType = None) -> None:
        _PREFETCHED.set(None)
        try:
            await self.storage.set_state(key, state)
        except RedisError as exc:
            if _value(state) is not None:
                raise
            self._warn(exc)

    async def set_data(self, key: StorageKey, data: Mapping[str, Any]) -> None:
        try:
            await self.storage.set_data(key, data)
        except RedisError as exc:
            if data:
                raise
            self._warn(exc)

    async def close(self) -> None:
        await self.storage.close()


class StatePrefetch:
    """Where an update's dialog state lives in Redis, and handing the value read there to the storage.

    Parameters:
      fsm: the dispatcher's FSM middleware (it decides whose state an update reads).
      key_builder: the Redis storage's key builder.
    """

    def __init__(self, *, fsm: FSMContextMiddleware, key_builder: KeyBuilder) -> None:
        self.fsm = fsm
        self.key_builder = key_builder

    def key(self, bot: Bot, data: dict[str, Any]) -> tuple[StorageKey, str] | None:
        """The storage key and Redis key of the state the FSM middleware will read; None without a chat/user."""
        context = self.fsm.resolve_event_context(bot, data)
        if context is None:
            return None
        return context.key, self.key_builder.build(context.key, "state")

    @staticmethod
    def keep(key: StorageKey, raw: bytes | str | None) -> None:
        """The state just read for ``key``: the next ``get_state(key)`` of this update returns it."""
        _PREFETCHED.set((key, raw.decode() if isinstance(raw, bytes) else raw))

    @staticmethod
    def forget() -> None:
        _PREFETCHED.set(None)


def _value(state: StateType) -> str | None:
    return state.state if isinstance(state, State) else state
