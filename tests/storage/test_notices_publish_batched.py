"""messaging.notices.publish with a batch of sends (messaging.batch_enqueue), against the
real database and Redis: a pipeline that ran stamps every row enqueued and leaves one
``notify`` message each on the queue; a pipeline that failed stamps none (the clock's
relay sends them) and says none went out."""

from __future__ import annotations

import socket
import uuid
from contextlib import asynccontextmanager

from dramatiq.brokers.redis import RedisBroker

from zenith.messaging import notices
from zenith.messaging.batch_enqueue import EnqueueBatch
from zenith.messaging.contract import NOTIFY
from zenith.storage import outbox
from zenith.storage.db import fetch_all, unit_of_work


def _dead_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


async def _staged(pool, make_user, count: int) -> list[outbox.OutboxEntry]:
    user = await make_user()
    async with unit_of_work(pool) as conn:
        return [
            entry
            for n in range(count)
            if (
                entry := await outbox.add(
                    conn,
                    user_id=user.id,
                    key="notify.video.approved",
                    params={"url": f"https://youtu.be/{n}"},
                    dedup_key=f"test:{uuid.uuid4().hex}",
                )
            )
            is not None
        ]


async def _enqueued(pool, entries) -> list[bool]:
    async with pool.connection() as conn:
        rows = await fetch_all(
            conn, "SELECT enqueued_at FROM outbox WHERE id = ANY(%s) ORDER BY id", ([e.id for e in entries],)
        )
    return [row["enqueued_at"] is not None for row in rows]


async def _publish_batched(pool, entries, broker) -> int:
    """publish as the parsing actor calls it: every notice added to one batch, then flushed."""
    batch = EnqueueBatch(broker)

    @asynccontextmanager
    async def connect():
        async with pool.connection() as conn:
            yield conn

    return await notices.publish(
        entries, send=lambda entry: batch.add(NOTIFY, *notices.notify_args(entry)), connect=connect, flush=batch.flush
    )


async def test_a_batch_that_ran_is_stamped_and_queued(pool, make_user, redis_url, namespace):
    entries = await _staged(pool, make_user, 3)
    broker = RedisBroker(url=redis_url, namespace=namespace)
    try:
        assert await _publish_batched(pool, entries, broker) == 3
        assert await _enqueued(pool, entries) == [True, True, True]
        assert broker.client.llen(f"{namespace}:{NOTIFY.queue_name}") == 3
    finally:
        for key in broker.client.scan_iter(match=f"{namespace}:*"):
            broker.client.delete(key)
        broker.close()


async def test_a_batch_that_failed_is_left_to_the_relay(pool, make_user, namespace):
    entries = await _staged(pool, make_user, 2)
    broker = RedisBroker(url=f"redis://127.0.0.1:{_dead_port()}/0", namespace=namespace)  # nothing listens
    assert await _publish_batched(pool, entries, broker) == 0
    assert await _enqueued(pool, entries) == [False, False]
    assert {entry.id for entry in await _unsent(pool, entries)} == {entry.id for entry in entries}


async def _unsent(pool, entries) -> list[outbox.OutboxEntry]:
    async with pool.connection() as conn:
        rows = await fetch_all(
            conn, "SELECT id FROM outbox WHERE id = ANY(%s) AND sent_at IS NULL", ([e.id for e in entries],)
        )
    return [entry for entry in entries if entry.id in {row["id"] for row in rows}]
