"""Pausing a whole platform while it blocks us or its quota is used up.

A ``BlockedError`` (block page, captcha) or ``QuotaExceededError`` concerns every
video of the platform, so retrying each message would only burn retries and deepen
the block. The first actor that meets one sets a Redis key with a TTL until the
platform's reset (or a default pause); every actor checks it before calling the
platform and reschedules its work to when the pause ends.
"""

from __future__ import annotations

from datetime import datetime, timezone

from redis.asyncio import Redis

# Block pages carry no end time: try again after this long.
DEFAULT_PAUSE_MS = 15 * 60 * 1000
MIN_PAUSE_MS = 1_000


def _key(prefix: str, platform: str) -> str:
    return f"{prefix}:platform-pause:{platform}"


async def pause_platform(
    redis: Redis, *, prefix: str, platform: str, until: datetime | None, reason: str, now: datetime | None = None
) -> int:
    """Pause ``platform`` until ``until`` (None: DEFAULT_PAUSE_MS); returns the pause in ms."""
    if until is None:
        pause_ms = DEFAULT_PAUSE_MS
    else:
        now = now or datetime.now(timezone.utc)
        pause_ms = max(MIN_PAUSE_MS, int((until - now).total_seconds() * 1000))
    await redis.set(_key(prefix, platform), reason, px=pause_ms)
    return pause_ms


async def platform_pause_ms(redis: Redis, *, prefix: str, platform: str) -> int:
    """Milliseconds the platform stays paused (0: not paused)."""
    remaining = await redis.pttl(_key(prefix, platform))
    return max(0, int(remaining))
