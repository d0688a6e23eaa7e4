"""Telegram's sending limits, shared by every worker process through Redis.

Telegram allows about 30 messages per second from one bot in total and about one per
second to the same chat; beyond that it answers 429 with ``retry_after``. A token
bucket in Redis (one hash) caps the total, and a per-chat key living ``chat_interval``
ms spaces messages to one chat. Both are checked and taken in one Lua script, using
the Redis server's clock, so several processes on several hosts respect one budget.
"""

from __future__ import annotations

from dataclasses import dataclass

from redis.asyncio import Redis

# KEYS[1] bucket hash (tokens, ts), KEYS[2] per-chat key
# ARGV[1] rate per second, ARGV[2] capacity, ARGV[3] chat interval ms
# Returns 0 when a permit was taken, else the milliseconds to wait before trying again.
_ACQUIRE = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local rate = tonumber(ARGV[1])
local capacity = tonumber(ARGV[2])
local chat_wait = redis.call('PTTL', KEYS[2])
if chat_wait > 0 then
  return chat_wait
end
local state = redis.call('HMGET', KEYS[1], 'tokens', 'ts')
local tokens = tonumber(state[1])
local ts = tonumber(state[2])
if tokens == nil then
  tokens = capacity
  ts = now
end
tokens = math.min(capacity, tokens + (now - ts) * rate / 1000)
if tokens < 1 then
  redis.call('HSET', KEYS[1], 'tokens', tostring(tokens), 'ts', now)
  redis.call('PEXPIRE', KEYS[1], 60000)
  return math.max(1, math.ceil((1 - tokens) * 1000 / rate))
end
redis.call('HSET', KEYS[1], 'tokens', tostring(tokens - 1), 'ts', now)
redis.call('PEXPIRE', KEYS[1], 60000)
redis.call('SET', KEYS[2], '1', 'PX', ARGV[3])
return 0
"""


@dataclass(frozen=True)
class TelegramLimits:
    """The sending budget.

    Parameters:
      per_second: messages per second for the whole bot (default 30).
      burst: the bucket's capacity (default 1: sends evenly spaced; a full bucket of 30
        let up to 60 through in one second and Telegram answered 429 to the excess).
      chat_interval_ms: least time between two messages to one chat (default 1,100: the
        permit is taken before the request travels, and a jitter of the round trip
        brought two messages to one chat less than a second apart).
    """

    per_second: float = 30.0
    burst: int = 1
    chat_interval_ms: int = 1100


class TelegramRateLimiter:
    """Takes a permit to send one message to one chat.

    Parameters:
      redis: an async Redis client.
      prefix: key prefix (the deployment's namespace).
      limits: the budget (default `TelegramLimits()`).
    """

    def __init__(self, redis: Redis, *, prefix: str, limits: TelegramLimits | None = None) -> None:
        self.redis = redis
        self.prefix = prefix
        self.limits = limits or TelegramLimits()
        self._script = redis.register_script(_ACQUIRE)

    async def try_acquire(self, chat_id: int) -> int:
        """Take a permit for ``chat_id``; 0 if taken, else milliseconds to wait."""
        keys = [f"{self.prefix}:tg:bucket", f"{self.prefix}:tg:chat:{chat_id}"]
        args = [self.limits.per_second, self.limits.burst, self.limits.chat_interval_ms]
        return int(await self._script(keys=keys, args=args))

    async def hold_chat(self, chat_id: int, *, delay_ms: int) -> None:
        """Keep ``chat_id`` closed for ``delay_ms`` (after Telegram said retry_after)."""
        await self.redis.set(f"{self.prefix}:tg:chat:{chat_id}", "1", px=max(1, delay_ms))

    async def hold_all(self, *, delay_ms: int) -> None:
        """Empty the shared bucket so every process waits about ``delay_ms``."""
        tokens = -self.limits.per_second * delay_ms / 1000
        await self.redis.eval(
            "local t = redis.call('TIME'); redis.call('HSET', KEYS[1], 'tokens', ARGV[1], 'ts', tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)); redis.call('PEXPIRE', KEYS[1], 60000 + tonumber(ARGV[2]))",
            1,
            f"{self.prefix}:tg:bucket",
            str(tokens),
            int(delay_ms),
        )
