"""The clock's release of quiet holds: held growth whose creator drew no new signal for
TRUST_HOLD_QUIET_DAYS is credited to available, as an admin's release would be.

Each hold is released in the same transaction as its creator's notice is staged; holds
another clock (or an admin) has locked are skipped, and a hold decided meanwhile is not
touched, so two clocks never release one hold twice.
"""

from __future__ import annotations

import logging
from datetime import datetime

from zenith.actors.notice_outbox import publish
from zenith.actors.runtime import Runtime
from zenith.actors.trust_gate import trust_policy
from zenith.storage import outbox, trust_holds, videos
from zenith.storage.audit import SYSTEM_ADMIN_ID
from zenith.storage.db import unit_of_work

logger = logging.getLogger(__name__)

RELEASE_BATCH = 100  # holds released per tick at most
QUIET_REASON = "quiet period with no new signal"


async def release_quiet_holds(runtime: Runtime, now: datetime) -> int:
    """Release the holds that stayed quiet long enough; returns how many were released."""
    policy = trust_policy(runtime.settings)
    if policy.hold_quiet is None:
        return 0
    pool = await runtime.db()
    staged = []
    creators: set[int] = set()
    async with unit_of_work(pool) as conn:
        for hold_id in await trust_holds.quiet_ones(conn, held_before=now - policy.hold_quiet, limit=RELEASE_BATCH):
            hold = await trust_holds.decide(
                conn, hold_id=hold_id, decision=trust_holds.RELEASE, admin_id=SYSTEM_ADMIN_ID, reason=QUIET_REASON
            )
            if hold is not None:
                creators.add(hold.user_id)
                video = await videos.get(conn, hold.video_id)
                params = {"amount": str(hold.amount), "url": video.url}
                staged.append(
                    await outbox.add(
                        conn,
                        user_id=hold.user_id,
                        key="notify.hold.released",
                        params=params,
                        dedup_key=f"hold:{hold.id}:released",
                    )
                )
    if creators:
        await runtime.creators_changed(*creators)  # held money moved to available: committed above
    if staged:
        logger.info("released %d quiet holds", len(staged))
    await publish(runtime, staged)
    return len(staged)
