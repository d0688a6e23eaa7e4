"""Do-once guards in Redis for side effects that cannot be undone (a Telegram message).

A guard key goes through two states: a short-lived claim while one delivery is
working on it, then "done" for a long time. A second delivery that finds "done" does
nothing; one that finds a claim knows another delivery is busy (or died: the claim
expires) and tries later; a delivery that failed releases its claim so a retry can
take it again.
"""

from __future__ import annotations

import enum
import uuid

from redis.asyncio import Redis

DONE = "done"
# release only our own claim: a late releaser must not drop somebody else's
_RELEASE = """
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('DEL', KEYS[1])
end
return 0
"""


class ClaimResult(enum.Enum):
    CLAIMED = "claimed"  # go ahead, then call done() or release()
    DONE = "done"  # already done: do nothing
    BUSY = "busy"  # another delivery holds the claim: try again later


class OnceGuard:
    """One claim on one guard key.

    Parameters:
      redis: async Redis client (decoded responses).
      key: the full Redis key of the guard.
      claim_ms: how long a claim lives if its holder dies (default 120 s).
      done_seconds: how long "done" is remembered (default 7 days).
    """

    def __init__(self, redis: Redis, key: str, *, claim_ms: int = 120_000, done_seconds: int = 7 * 86_400) -> None:
        self.redis = redis
        self.key = key
        self.claim_ms = claim_ms
        self.done_seconds = done_seconds
        self.token = f"claim:{uuid.uuid4().hex}"

    async def claim(self) -> ClaimResult:
        if await self.redis.set(self.key, self.token, nx=True, px=self.claim_ms):
            return ClaimResult.CLAIMED
        current = await self.redis.get(self.key)
        if current == DONE:
            return ClaimResult.DONE
        if current is None:  # expired between the two calls
            return await self.claim()
        return ClaimResult.BUSY

    async def done(self) -> None:
        await self.redis.set(self.key, DONE, ex=self.done_seconds)

    async def release(self) -> None:
        await self.redis.eval(_RELEASE, 1, self.key, self.token)
