"""Drop an update Telegram delivers a second time (same update_id, same content)."""

from __future__ import annotations

import hashlib
import logging
import zlib
from typing import Any

from aiogram.types import Update
from redis.asyncio import Redis
from redis.exceptions import RedisError

from zenith.bot.fsm_storage import StatePrefetch
from zenith.bot.middlewares.base import Proceed, UpdateMiddleware
from zenith.storage.batched_script import BatchedScript

logger = logging.getLogger(__name__)

# KEYS[1]: the update id's key; KEYS[2] (optional): the sender's dialog-state key, read
# in the same call so the FSM needs no round trip of its own. ARGV: fingerprint, ttl.
# Returns {outcome, state}: outcome 1 when this delivery is to be handled (first time, or
# an id reused for other content), 0 for a duplicate, 2 when the id was seen before with
# other content (the server renumbered).
_CLAIM = """
local seen = redis.call('GET', KEYS[1])
if seen == ARGV[1] then return {0, false} end
redis.call('SET', KEYS[1], ARGV[1], 'EX', tonumber(ARGV[2]))
local state = false
if KEYS[2] then state = redis.call('GET', KEYS[2]) end
if seen then return {2, state} end
return {1, state}
"""
DUPLICATE = 0
RENUMBERED = 2


def fingerprint(update: Update) -> str:
    """What the update is, the same when it is delivered again and different for other content.

    A message is known by its chat, id, date, sender and a checksum of its text: Telegram
    never gives two messages of a chat the same id, and a renumbered server's message
    differs in one of them. A callback query by its id, unique per press. Any other update
    by a digest of all of it (serialising a whole message took about 2 % of the bot's CPU).
    """
    message = update.message
    if message is not None:
        sender = message.from_user.id if message.from_user is not None else 0
        text = message.text if message.text is not None else "\0" + (message.caption or "")
        return (
            f"m:{message.chat.id}:{message.message_id}:{int(message.date.timestamp())}:{sender}:"
            f"{zlib.crc32(text.encode())}"
        )
    if update.callback_query is not None:
        return f"c:{update.callback_query.id}"
    return hashlib.sha256(update.model_dump_json(exclude_none=True).encode()).hexdigest()[:32]


class UpdateDedupMiddleware(UpdateMiddleware):
    """Outer middleware on ``dp.update``: the first delivery of an update wins.

    Telegram re-sends an update when the webhook answer was lost or polling restarted
    before the offset was confirmed; handling it twice would answer twice (submission
    itself is also idempotent through its request_id).

    An update is known by its update_id *and* a digest of its content. The id alone is
    not enough across restarts of the Bot API side: Telegram may start a new sequence
    (after a week without updates its next id is chosen at random), and a restarted
    local sandbox numbers from where it began, so yesterday's ids come back with new
    messages. A re-delivery is the very same update, so it carries the same digest and
    is dropped; a reused id with other content is a new update and is handled.

    Parameters:
      redis: an async Redis client.
      prefix: key prefix, e.g. "zenith:bot" (keys: ``{prefix}:update:{bot_id}:{update_id}``,
        value: the content digest).
      ttl_seconds: how long an update is remembered (default one day; Telegram keeps
        undelivered updates for 24 hours).
      prefetch: read the sender's dialog state in the same call (the FSM middleware must
        then come after this one); None: the FSM reads it itself.
    """

    def __init__(
        self, *, redis: Redis, prefix: str, ttl_seconds: int = 86_400, prefetch: StatePrefetch | None = None
    ) -> None:
        self.redis = redis
        self.prefix = prefix
        self.ttl_seconds = ttl_seconds
        self.prefetch = prefetch
        self._claim = BatchedScript(redis, _CLAIM)  # the claims of one burst of updates: one round trip

    async def on_update(self, update: Update, data: dict[str, Any], proceed: Proceed) -> Any:
        bot = data.get("bot")
        key = f"{self.prefix}:update:{bot.id if bot else 0}:{update.update_id}"
        state_key = self.prefetch.key(bot, data) if self.prefetch is not None and bot is not None else None
        keys = [key] if state_key is None else [key, state_key[1]]
        try:
            outcome, state = await self._claim(keys=keys, args=[fingerprint(update), self.ttl_seconds])
        except RedisError as exc:
            # Redis down: handle the update rather than drop it (submission stays idempotent).
            logger.warning("update de-duplication unavailable (%r); handling update %s", exc, update.update_id)
            outcome, state = None, None
            StatePrefetch.forget()  # the FSM reads the state itself (and fails open)
        if outcome == DUPLICATE:
            logger.info("update %s delivered again; skipped", update.update_id)
            return None
        if state_key is not None and outcome is not None:
            StatePrefetch.keep(state_key[0], state)
        if outcome == RENUMBERED:
            logger.info(
                "update id %s was seen before with other content (the Bot API server renumbered); handled as new",
                update.update_id,
            )
        return await proceed()
