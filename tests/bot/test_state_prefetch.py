"""The dialog state comes with the update's claim: one Redis call per update instead of two."""

from __future__ import annotations

from aiogram.fsm.storage.base import DefaultKeyBuilder, StorageKey
from aiogram.fsm.storage.redis import RedisStorage

from tests.bot.conftest import new_telegram_id
from zenith.bot.fsm_storage import FailOpenStorage, StatePrefetch


async def test_a_prefetched_state_is_used_once_and_dropped_by_a_new_state(redis, namespace):
    storage = FailOpenStorage(RedisStorage(redis=redis, key_builder=DefaultKeyBuilder(prefix=f"{namespace}:fsm")))
    key = StorageKey(bot_id=1, chat_id=5, user_id=5)
    await storage.set_state(key, "Dialog:stored")

    StatePrefetch.keep(key, b"Dialog:claimed")
    assert await storage.get_state(StorageKey(bot_id=1, chat_id=6, user_id=6)) is None  # another key: Redis
    assert await storage.get_state(key) == "Dialog:claimed"
    assert await storage.get_state(key) == "Dialog:stored"  # used once

    StatePrefetch.keep(key, "Dialog:claimed")
    await storage.set_state(key, "Dialog:next")
    assert await storage.get_state(key) == "Dialog:next"


async def test_the_bot_reads_a_creators_dialog_state_in_the_claim(bot, sandbox, monkeypatch):
    reads: list[StorageKey] = []
    original = RedisStorage.get_state

    async def counted(self, key):
        reads.append(key)
        return await original(self, key)

    monkeypatch.setattr(RedisStorage, "get_state", counted)
    uid = new_telegram_id()
    key = StorageKey(bot_id=bot.bot.id, chat_id=uid, user_id=uid)
    await bot.dispatcher.storage.set_state(key, "Withdraw:amount")

    sandbox.state.user_sends_text(uid, "/help", language_code="en")
    await sandbox.state.wait_for_message(uid, contains="Help")

    assert reads == []  # the FSM got the state from the claim
    # and it was the creator's state: a command leaves a dialog only when one was read
    assert await bot.dispatcher.storage.get_state(key) is None
