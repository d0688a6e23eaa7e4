"""Dialog state in Redis that lets the bot keep answering while Redis is down.

aiogram reads the FSM state before every handler, so with a plain ``RedisStorage`` a dead
Redis fails every update, /balance included. ``FailOpenStorage`` reads "no dialog" when
Redis is unreachable and lets clearing a dialog pass (nothing could be read back anyway);
starting or advancing a dialog still raises, so the creator is told to try again instead
of silently losing the step.
"""

from __future__ import annotations

import logging
import time
from typing import Any, Mapping

from aiogram.fsm.state import State
from aiogram.fsm.storage.base import BaseStorage, StateType, StorageKey
from redis.exceptions import RedisError

logger = logging.getLogger(__name__)

WARN_EVERY_SECONDS = 60.0


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


def _value(state: StateType) -> str | None:
    return state.state if isinstance(state, State) else state
