"""Notices that survive a worker dying between a commit and the notify message.

An actor whose transaction changes what a creator is told about (a stored submission,
money credited, a video finished or failed) stages the notice in that transaction::

    async with unit_of_work(pool) as conn:
        ...  # the state change
        staged = [await stage(conn, user_id=..., key=..., params=..., dedup_key=...)]
    await publish(runtime, staged)

``publish`` enqueues ``notify`` for each staged notice and stamps its outbox row sent.
If the worker dies before that (or the enqueue fails), the row stays unsent and the
clock's ``relay_unsent`` sends it after ``RELAY_GRACE``. The notifications actor's
dedup guard (the row's ``dedup_key``) makes an original send plus a relay one message.
``purge_sent`` deletes sent rows after ``RETENTION``, the life of that guard.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import Iterable

import psycopg

from zenith.actors.runtime import Runtime
from zenith.messaging.contract import NOTIFY
from zenith.storage import outbox
from zenith.storage.db import unit_of_work

logger = logging.getLogger(__name__)

RELAY_GRACE = timedelta(seconds=30)  # an unsent row younger than this is left to its sender
RELAY_BATCH_SIZE = 100
MAX_RELAY_BATCHES_PER_TICK = 20  # bounds one tick; the rest is relayed next tick
RETENTION = timedelta(days=7)  # the notifications actor remembers a dedup key this long
PURGE_BATCH_SIZE = 1000


async def stage(conn: psycopg.AsyncConnection, *, user_id: int, key: str, params: dict, dedup_key: str) -> outbox.OutboxEntry | None:
    """Store a notice in the caller's transaction; None if ``dedup_key`` was staged before.

    Parameters:
      user_id: users.id of the recipient.
      key: i18n catalogue key.
      params: template parameters (JSON values: money as decimal strings).
      dedup_key: the notifications actor's dedup key (required).
    """
    return await outbox.add(conn, user_id=user_id, key=key, params=params, dedup_key=dedup_key)


def _send(runtime: Runtime, entry: outbox.OutboxEntry) -> None:
    runtime.send(NOTIFY, entry.user_id, entry.key, entry.params, entry.dedup_key, None)


async def publish(runtime: Runtime, entries: Iterable[outbox.OutboxEntry | None]) -> int:
    """After the commit: enqueue each staged notice and stamp it sent; returns how many went out.

    Best effort: a failed enqueue is logged and left to the clock's relay (the notice
    is durable in the outbox), so the actor's own work is not retried for it.
    """
    sent: list[int] = []
    for entry in entries:
        if entry is None:
            continue
        try:
            _send(runtime, entry)
        except Exception:
            logger.warning("notice %s not enqueued; the clock relays it", entry.dedup_key, exc_info=True)
            continue
        sent.append(entry.id)
    if sent:
        try:
            pool = await runtime.db()
            async with pool.connection() as conn:
                await outbox.mark_sent(conn, ids=sent)
        except Exception:  # the relay sends them again; the dedup key absorbs it
            logger.warning("outbox rows %s not stamped sent", sent, exc_info=True)
    return len(sent)


async def relay_unsent(
    runtime: Runtime,
    *,
    now: datetime,
    grace: timedelta = RELAY_GRACE,
    batch_size: int = RELAY_BATCH_SIZE,
    max_batches: int = MAX_RELAY_BATCHES_PER_TICK,
) -> int:
    """Send the notices still unsent ``grace`` after they were staged; returns how many.

    Parameters:
      now: the clock's time.
      grace: how long a sender has to publish its own notice (default 30 s).
      batch_size: rows per transaction (default 100).
      max_batches: transactions at most per call (default 20).

    Rows are claimed ``FOR UPDATE SKIP LOCKED`` and stamped in the same transaction, so
    two clocks never relay the same row; a send failing midway keeps the rows sent so far
    stamped and leaves the rest for the next tick.
    """
    pool = await runtime.db()
    relayed = 0
    for _ in range(max_batches):
        failure: Exception | None = None
        async with unit_of_work(pool) as conn:
            claimed = await outbox.claim_unsent(conn, created_before=now - grace, limit=batch_size)
            sent: list[int] = []
            for entry in claimed:
                try:
                    _send(runtime, entry)
                except Exception as exc:  # commit the stamps of those sent, then report
                    failure = exc
                    break
                sent.append(entry.id)
            await outbox.mark_relayed(conn, ids=sent)
        relayed += len(sent)
        if sent:
            logger.warning("relayed %d notices their senders did not publish", len(sent))
        if failure is not None:
            raise failure
        if len(claimed) < batch_size:
            break
    return relayed


async def purge_sent(runtime: Runtime, *, now: datetime, retention: timedelta = RETENTION, batch_size: int = PURGE_BATCH_SIZE) -> int:
    """Delete outbox rows sent more than ``retention`` ago, a batch at a time; returns how many."""
    pool = await runtime.db()
    purged = 0
    while True:
        async with pool.connection() as conn:
            deleted = await outbox.purge_sent(conn, sent_before=now - retention, limit=batch_size)
        purged += deleted
        if deleted < batch_size:
            return purged
