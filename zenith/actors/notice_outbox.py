"""Notices that survive a worker dying between a commit and the notify message.

An actor whose transaction changes what a creator is told about (a stored submission,
money credited, a video finished or failed) stages the notice in that transaction::

    async with unit_of_work(pool) as conn:
        ...  # the state change
        staged = [await outbox.add(conn, user_id=..., key=..., params=..., dedup_key=...)]
    await publish(runtime, staged)

``publish`` (``zenith.messaging.notices.publish`` bound to the worker's runtime) enqueues
``notify`` for each staged notice and stamps its outbox row enqueued. The row counts as
sent only when the notifications actor confirms it (Telegram answered, or the notice can
never be delivered). If the worker dies before publishing (or the enqueue fails), the
clock's ``relay_unsent`` sends the row after ``RELAY_GRACE``; if the broker loses the
enqueued message, after ``NOTICE_RESEND_SECONDS`` (a setting, default 60 s) without a
confirmation. The notifications actor's dedup guard (the row's ``dedup_key``) makes an
original send plus relays one message. ``purge_sent`` deletes sent rows after
``RETENTION``, the life of that guard.
"""

from __future__ import annotations

import logging
from contextlib import asynccontextmanager
from datetime import datetime, timedelta
from typing import AsyncIterator, Iterable

import psycopg

from zenith.actors.runtime import Runtime
from zenith.messaging import notices
from zenith.messaging.batch_enqueue import EnqueueBatch
from zenith.messaging.contract import NOTIFY
from zenith.storage import outbox
from zenith.storage.db import unit_of_work

logger = logging.getLogger(__name__)

RELAY_GRACE = timedelta(seconds=30)  # a row never enqueued and younger than this is left to its sender
# a notice relayed this often without a confirmation is left alone (notify keeps failing);
# the wait between relays doubles up to 64 x NOTICE_RESEND_SECONDS, so about two days of tries
MAX_RELAYS = 60
RELAY_BATCH_SIZE = 100
MAX_RELAY_BATCHES_PER_TICK = 20  # bounds one tick; the rest is relayed next tick
RETENTION = timedelta(days=7)  # the notifications actor remembers a dedup key this long
PURGE_BATCH_SIZE = 1000


def enqueue_notice(runtime: Runtime, entry: outbox.OutboxEntry, *, batch: EnqueueBatch | None = None) -> None:
    """Enqueue one staged notice for the notifications actor (every sender goes through here);
    with ``batch``, it is added to it and goes out with the batch's flush."""
    if batch is not None:
        batch.add(NOTIFY, *notices.notify_args(entry))
    else:
        runtime.send(NOTIFY, *notices.notify_args(entry))


@asynccontextmanager
async def _connection(runtime: Runtime) -> AsyncIterator[psycopg.AsyncConnection]:
    pool = await runtime.db()
    async with pool.connection() as conn:
        yield conn


async def publish(runtime: Runtime, entries: Iterable[outbox.OutboxEntry | None]) -> int:
    """After the commit: enqueue each staged notice and stamp it enqueued; returns how many went out.

    Best effort: a failed enqueue is logged and left to the clock's relay (the notice
    is durable in the outbox), so the actor's own work is not retried for it.
    """
    return await notices.publish(
        entries, send=lambda entry: enqueue_notice(runtime, entry), connect=lambda: _connection(runtime)
    )


async def relay_unsent(
    runtime: Runtime,
    *,
    now: datetime,
    grace: timedelta = RELAY_GRACE,
    resend_after: timedelta | None = None,
    resend_unconfirmed: bool = True,
    batch_size: int = RELAY_BATCH_SIZE,
    max_batches: int = MAX_RELAY_BATCHES_PER_TICK,
) -> int:
    """Send the notices not confirmed in time; returns how many.

    Parameters:
      now: the clock's time.
      grace: how long a sender has to publish its own notice (default 30 s).
      resend_after: how long an enqueued notice may wait for its confirmation before it
        is sent again, doubling with each relay (default: the NOTICE_RESEND_SECONDS setting).
      resend_unconfirmed: False relays only the notices never enqueued (the clock's
        choice while the notifications queue has a backlog).
      batch_size: rows per transaction (default 100).
      max_batches: transactions at most per call (default 20).

    Rows are claimed ``FOR UPDATE SKIP LOCKED`` and stamped in the same transaction, so
    two clocks never relay the same row; a send failing midway keeps the rows sent so far
    stamped and leaves the rest for the next tick.
    """
    if resend_after is None:
        resend_after = timedelta(seconds=float(runtime.settings.notice_resend_seconds))
    pool = await runtime.db()
    relayed = 0
    for _ in range(max_batches):
        failure: Exception | None = None
        async with unit_of_work(pool) as conn:
            claimed = await outbox.claim_unsent(
                conn,
                created_before=now - grace,
                now=now,
                resend_after=resend_after if resend_unconfirmed else None,
                max_relays=MAX_RELAYS,
                limit=batch_size,
            )
            sent: list[int] = []
            for entry in claimed:
                try:
                    enqueue_notice(runtime, entry)
                except Exception as exc:  # commit the stamps of those sent, then report
                    failure = exc
                    break
                sent.append(entry.id)
            await outbox.mark_relayed(conn, ids=sent, now=now)
        relayed += len(sent)
        if sent:
            logger.warning(
                "relayed %d notices not confirmed sent (sender died, or the broker lost the message)", len(sent)
            )
        if failure is not None:
            raise failure
        if len(claimed) < batch_size:
            break
    return relayed


async def purge_sent(
    runtime: Runtime, *, now: datetime, retention: timedelta = RETENTION, batch_size: int = PURGE_BATCH_SIZE
) -> int:
    """Delete outbox rows sent more than ``retention`` ago, a batch at a time; returns how many."""
    pool = await runtime.db()
    purged = 0
    while True:
        async with pool.connection() as conn:
            deleted = await outbox.purge_sent(conn, sent_before=now - retention, limit=batch_size)
        purged += deleted
        if deleted < batch_size:
            return purged
