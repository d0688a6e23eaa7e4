"""Daily earnings digests, sent by the clock through the notice outbox.

From EARNINGS_DIGEST_HOUR_UTC each day, `send_daily_digests` finds creators with
earnings no digest covered yet (`zenith.storage.digests`) and, per creator in one
transaction, records the day's digest and stages ``notify.digest.daily`` listing what
each video earned since the last digest (``lines_items``: one ``notify.digest.line`` per
video, rendered by the notifications actor in the creator's language). The digest row
(one per creator and day) and the notice's dedup key ``digest:{user_id}:{day}`` make a
second run, a second clock or a relay send nothing new. Creators who turned the digest
off in the bot are skipped; their credits are announced as they come instead.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from decimal import Decimal

from zenith.actors.notice_outbox import publish
from zenith.actors.runtime import Runtime
from zenith.storage import digests, outbox
from zenith.storage.db import unit_of_work

logger = logging.getLogger(__name__)

SETTLE_MARGIN = timedelta(minutes=1)  # transfers younger than this wait for the next digest
FIRST_DIGEST_COVERS = timedelta(days=1)  # a creator's first digest reaches back this far
CREATORS_PER_TICK = 500  # bounds one tick; the rest follow on the next ones
MAX_LINES = 30  # videos listed in one digest; the total still counts every video


async def send_daily_digests(runtime: Runtime, now: datetime) -> int:
    """Record and stage today's digests still due; returns how many creators got one."""
    settings = runtime.settings
    if not settings.earnings_digest or now.hour < settings.earnings_digest_hour_utc:
        return 0
    redis = await runtime.redis()
    day = now.date()
    done_key = runtime.key("clock", "digests-done", day.isoformat())
    if await redis.exists(done_key):
        return 0
    pool = await runtime.db()
    first_since = now - FIRST_DIGEST_COVERS
    async with pool.connection() as conn:
        mark = await digests.settled_mark(conn, before=now - SETTLE_MARGIN)
        due = await digests.creators_due(conn, day=day, mark=mark, first_since=first_since, limit=CREATORS_PER_TICK)
    sent = 0
    for user_id in due:
        async with unit_of_work(pool) as conn:
            earned = await digests.earnings_since_last(conn, user_id=user_id, mark=mark, first_since=first_since)
            if not earned or not await digests.record(conn, user_id=user_id, day=day, mark=mark):
                continue
            staged = await outbox.add(
                conn,
                user_id=user_id,
                key="notify.digest.daily",
                params=_params(earned),
                dedup_key=f"digest:{user_id}:{day.isoformat()}",
            )
        await publish(runtime, [staged])
        sent += 1
    if len(due) < CREATORS_PER_TICK:
        # every creator due today has one: the rest of the day's ticks skip the query
        await redis.set(done_key, "1", ex=int(timedelta(days=1).total_seconds()))
    if sent:
        logger.info("daily earnings digests sent to %d creators", sent)
    return sent


def _params(earned: list[digests.VideoEarning]) -> dict:
    """The notice's parameters: a line per video (amounts as decimal strings) and the total."""
    lines = [
        {"key": "notify.digest.line", "params": {"amount": str(item.amount), "url": item.url}}
        for item in earned[:MAX_LINES]
    ]
    more = len(earned) - len(lines)
    if more > 0:
        lines.append({"key": "notify.digest.more", "params": {"count": more}})
    return {"lines_items": lines, "total": str(sum((item.amount for item in earned), Decimal(0)))}
