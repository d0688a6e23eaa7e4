"""How many messages wait, ready, in one broker queue: a hint for the clock's lost-work sweeps.

Work whose wake-up is overdue is either lost (the broker restarted empty, a worker died
with it) or still waiting behind a backlog. Re-sending while the queue it would join
still holds ready messages only adds duplicates to the backlog, so the sweeps wait for
the queue to drain. This is a hint, never a record: when the depth cannot be read the
clock re-sends anyway (every actor is safe to run twice). Delayed messages (a platform
pause, a 429) are not counted: they may wait for hours.
"""

from __future__ import annotations

import asyncio
import logging

import dramatiq

logger = logging.getLogger(__name__)


def _ready(broker: dramatiq.Broker, queue: str) -> int | None:
    client = getattr(broker, "client", None)  # the Redis broker
    namespace = getattr(broker, "namespace", None)
    if client is not None and namespace is not None:
        return int(client.llen(f"{namespace}:{queue}"))
    counts = getattr(broker, "get_queue_message_counts", None)  # RabbitMQ: (ready, delayed, dead)
    if counts is not None:
        return int(counts(queue)[0])
    return None


async def ready_messages(broker: dramatiq.Broker, queue: str) -> int | None:
    """Ready messages in ``queue``; None when the broker cannot tell (then assume none)."""
    try:
        return await asyncio.to_thread(_ready, broker, queue)
    except Exception as exc:
        logger.info(
            "depth of queue %s unknown (%s): lost work is re-sent without waiting for it", queue, type(exc).__name__
        )
        return None


async def has_backlog(broker: dramatiq.Broker, queue: str) -> bool:
    """True when ``queue`` still holds ready messages (overdue work may be among them)."""
    return bool(await ready_messages(broker, queue))
