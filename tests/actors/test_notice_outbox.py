"""Notices staged in the outbox with their transaction: a worker that commits and then
fails to send (or is SIGKILLed before sending) only delays the notice — the clock
relays it after the grace period, and the creator receives it exactly once, even when
a relay and the original send both go out. The same holds for a payout's "approved"
notice, staged with the payout's move to 'sending'."""

from __future__ import annotations

import asyncio
import signal
import uuid
from datetime import datetime, timedelta, timezone
from decimal import Decimal

import redis

from tests.actors.conftest import eventually, new_channel_id, new_youtube_id
from zenith.actors import notice_outbox
from zenith.actors.backlog import has_backlog
from zenith.actors.clock import tick
from zenith.actors.runtime import Runtime
from zenith.messaging.broker import build_broker
from zenith.messaging.contract import PROCESS_PAYOUT, REFRESH_RATES, SUBMIT_VIDEO, send
from zenith.storage import ledger, outbox, payouts
from zenith.storage import rates as rate_store
from zenith.storage.db import fetch_all, unit_of_work

AFTER_GRACE = notice_outbox.RELAY_GRACE + timedelta(seconds=1)


async def _rows(pool, user_id: int) -> list[outbox.OutboxEntry]:
    async with pool.connection() as conn:
        rows = await fetch_all(conn, "SELECT dedup_key FROM outbox WHERE user_id = %s ORDER BY id", (user_id,))
        return [await outbox.get(conn, dedup_key=row["dedup_key"]) for row in rows]


async def test_notices_whose_send_failed_after_the_commit_are_relayed_once_and_duplicates_deliver_once(
    running_worker, sandbox, fake_youtube, make_user, make_verified_account, pool, make_settings, actor_env, monkeypatch
):
    state, _ = sandbox
    user = await make_user(tier="gold", language="en")
    state.add_user(user.telegram_id)
    channel = new_channel_id()
    await make_verified_account(user, "youtube", channel)
    video_id = new_youtube_id()
    fake_youtube.state.add_video(video_id, views=15_000, channel_id=channel)
    request_id = uuid.uuid4().hex

    broker_down = {"now": True}
    real_send = notice_outbox.enqueue_notice

    def send_after_commit(runtime, entry, **options):
        if broker_down["now"]:
            raise redis.exceptions.ConnectionError("broker unreachable")
        real_send(runtime, entry, **options)

    monkeypatch.setattr(notice_outbox, "enqueue_notice", send_after_commit)
    settings = make_settings(**actor_env)
    async with running_worker() as worker:
        runtime = Runtime(
            settings, broker=worker.broker, database_url=settings.database_url, redis_url=settings.redis_url
        )
        try:
            send(SUBMIT_VIDEO, user.id, f"https://youtu.be/{video_id}", request_id, broker=worker.broker)
            # submission (approved) and the first check (credited) both commit; both sends fail
            staged = await eventually(lambda: _staged_two(pool, user.id), what="two notices staged")
            await asyncio.sleep(1.0)
            assert [row.sent_at for row in staged] == [None, None]
            assert state.messages_for(user.telegram_id) == []

            broker_down["now"] = False
            now = datetime.now(timezone.utc)
            await tick(now, runtime=runtime)  # within the grace period: left to the sender
            assert [row.sent_at for row in await _rows(pool, user.id)] == [None, None]
            await tick(now + AFTER_GRACE, runtime=runtime)
            await eventually(lambda: len(state.messages_for(user.telegram_id)) == 2, what="both notices relayed")
            # sent once the notifications actor confirmed them, not when the relay enqueued them
            relayed = await eventually(lambda: _all_confirmed(pool, user.id), what="both notices confirmed")
            assert [row.relays for row in relayed] == [1, 1]

            # a duplicate relay (a confirmation lost) and the original send: the dedup key makes them no-ops
            async with pool.connection() as conn:
                await fetch_all(conn, "UPDATE outbox SET sent_at = NULL WHERE user_id = %s RETURNING id", (user.id,))
            await _drained(worker.broker)
            await tick(_relay_due(settings, relayed), runtime=runtime)
            assert await notice_outbox.publish(runtime, relayed) == 2
            assert [row.relays for row in await _rows(pool, user.id)] == [2, 2]
            # other tests' unconfirmed notices in the session's database are relayed by the same tick: they may come first
            await eventually(
                lambda: _all_confirmed(pool, user.id), timeout=60, what="the duplicates confirmed as already delivered"
            )
            await asyncio.sleep(2.5)  # a second notice to one chat would arrive within this
        finally:
            await runtime.close()

    texts = sorted(m.text for m in state.messages_for(user.telegram_id))
    assert len(texts) == 2
    assert texts[0].startswith("✅ Video approved") and texts[1].startswith("💰 +975.00 RUB")
    assert {row.key for row in relayed} == {"notify.video.approved", "notify.video.credited"}
    assert relayed[0].dedup_key == f"submission:{request_id}"


def _relay_due(settings, rows) -> datetime:
    """When the clock relays these enqueued, unconfirmed rows again (the wait doubles per relay)."""
    resend = timedelta(seconds=float(settings.notice_resend_seconds))
    return max(row.enqueued_at + resend * 2**row.relays for row in rows) + timedelta(seconds=1)


async def _drained(broker) -> None:
    """The notifications queue holds no ready message (the clock relays nothing behind a backlog)."""
    await eventually(_not(has_backlog, broker, "notifications"), timeout=20, what="notifications queue drained")


def _not(check, *args):
    async def negated():
        return not await check(*args)

    return negated


async def _all_confirmed(pool, user_id: int):
    rows = await _rows(pool, user_id)
    return rows if rows and all(row.sent_at for row in rows) else None


async def _staged_two(pool, user_id: int):
    rows = await _rows(pool, user_id)
    return rows if len(rows) == 2 else None


async def test_a_worker_sigkilled_between_commit_and_notice_only_delays_the_notice(
    spawn,
    running_worker,
    sandbox,
    fake_youtube,
    make_user,
    make_verified_account,
    pool,
    make_settings,
    actor_env,
    redis_url,
):
    state, _ = sandbox
    user = await make_user(language="en")  # bronze: stored pending moderation, no check sent
    state.add_user(user.telegram_id)
    channel = new_channel_id()
    await make_verified_account(user, "youtube", channel)
    video_id = new_youtube_id()
    fake_youtube.state.add_video(video_id, views=1_000, channel_id=channel)
    request_id = uuid.uuid4().hex
    settings = make_settings(**actor_env)
    broker = build_broker(settings, redis_url=redis_url, namespace=settings.redis_namespace)
    runtime = Runtime(settings, broker=broker, database_url=settings.database_url, redis_url=redis_url)
    try:
        dying = spawn(["-m", "tests.actors.dying_worker", "--queues", "submission", "--threads", "1"], env=actor_env)
        send(SUBMIT_VIDEO, user.id, f"https://youtu.be/{video_id}", request_id, broker=broker)
        assert await asyncio.to_thread(dying.wait, 60) == -signal.SIGKILL
        async with pool.connection() as conn:
            stored = await fetch_all(conn, "SELECT status FROM videos WHERE request_id = %s", (request_id,))
        assert [row["status"] for row in stored] == ["pending_moderation"]  # committed before the kill
        [row] = await _rows(pool, user.id)
        assert row.sent_at is None and row.key == "notify.video.accepted"

        async with running_worker(modules=("zenith.actors.notifications",)):
            await asyncio.sleep(1.0)
            assert state.messages_for(user.telegram_id) == []  # nothing was enqueued
            result = await tick(datetime.now(timezone.utc) + AFTER_GRACE, runtime=runtime)
            assert result["notices"] >= 1
            message = await state.wait_for_message(user.telegram_id, contains="waiting for moderation", timeout=20)
            await tick(datetime.now(timezone.utc) + AFTER_GRACE, runtime=runtime)  # nothing left to relay
            await asyncio.sleep(1.5)
    finally:
        await runtime.close()
        broker.close()
    assert message.text == f"🎬 Video accepted and waiting for moderation: https://www.youtube.com/watch?v={video_id}"
    assert len(state.messages_for(user.telegram_id)) == 1
    [row] = await _rows(pool, user.id)
    assert row.relays == 1 and row.sent_at is not None  # confirmed by the notifications actor


async def test_a_payout_approved_notice_whose_send_failed_after_sending_committed_is_relayed_once(
    running_worker, sandbox, fake_cryptopay, make_user, pool, make_settings, actor_env, monkeypatch
):
    state, _ = sandbox
    user = await make_user(tier="gold", language="en")  # approved automatically
    state.add_user(user.telegram_id)
    fake_cryptopay.state.known_users.add(user.telegram_id)
    async with unit_of_work(pool) as conn:
        await ledger.adjust(
            conn,
            user_id=user.id,
            amount=Decimal("924.50"),
            idempotency_key=f"test:{uuid.uuid4().hex}",
            memo="test balance",
        )
        payout, _ = await payouts.create_requested(
            conn, user_id=user.id, amount_rub=Decimal("924.50"), asset="USDT", request_id=uuid.uuid4().hex
        )

    broker_down = {"now": True}
    real_send = notice_outbox.enqueue_notice

    def send_after_commit(runtime, entry, **options):
        if broker_down["now"]:
            raise redis.exceptions.ConnectionError("broker unreachable")
        real_send(runtime, entry, **options)

    monkeypatch.setattr(notice_outbox, "enqueue_notice", send_after_commit)
    settings = make_settings(**actor_env)
    async with running_worker() as worker:
        runtime = Runtime(
            settings, broker=worker.broker, database_url=settings.database_url, redis_url=settings.redis_url
        )
        try:
            send(REFRESH_RATES, broker=worker.broker)
            await eventually(lambda: _rate_stored(pool), what="rates refreshed")
            send(PROCESS_PAYOUT, payout.id, broker=worker.broker)
            # 'sending' committed with its notice, whose send failed; the transfer went on
            await state.wait_for_message(user.telegram_id, contains="sent", timeout=20)
            [row] = await _rows(pool, user.id)
            assert row.key == "notify.payout.approved" and row.dedup_key == f"payout:{payout.id}:approved"
            assert row.sent_at is None

            broker_down["now"] = False
            await tick(datetime.now(timezone.utc) + AFTER_GRACE, runtime=runtime)
            await eventually(lambda: len(state.messages_for(user.telegram_id)) == 2, what="approved notice relayed")
            await eventually(lambda: _all_confirmed(pool, user.id), what="approved notice confirmed")
            # relayed again (its confirmation lost): the dedup key keeps it one message
            async with pool.connection() as conn:
                await fetch_all(conn, "UPDATE outbox SET sent_at = NULL WHERE user_id = %s RETURNING id", (user.id,))
            await _drained(worker.broker)
            await tick(_relay_due(settings, await _rows(pool, user.id)), runtime=runtime)
            await eventually(
                lambda: _all_confirmed(pool, user.id), timeout=60, what="the duplicate confirmed as already delivered"
            )
            await asyncio.sleep(2.5)  # a second notice to one chat would arrive within this
        finally:
            await runtime.close()

    [row] = await _rows(pool, user.id)
    assert row.relays == 2 and row.sent_at is not None
    texts = [m.text for m in state.messages_for(user.telegram_id)]
    assert len(texts) == 2 and all(f"#{payout.id}" in text for text in texts)
    assert sum("approved" in text for text in texts) == 1 and sum("sent" in text for text in texts) == 1


async def _rate_stored(pool):
    async with pool.connection() as conn:
        return await rate_store.latest(conn, source="USDT")
