"""The notice outbox and the credit-notice throttle on the real database."""

from __future__ import annotations

import asyncio
import uuid
from datetime import datetime, timedelta, timezone
from decimal import Decimal

import pytest

from zenith.storage import credit_notices, outbox, videos
from zenith.storage.db import fetch_all, unit_of_work


def _key() -> str:
    return f"test:{uuid.uuid4().hex}"


async def _backdate(conn, ids: list[int], *, created: timedelta = timedelta(0), sent: timedelta | None = None) -> None:
    now = datetime.now(timezone.utc)
    await fetch_all(
        conn,
        "UPDATE outbox SET created_at = %s, sent_at = %s WHERE id = ANY(%s) RETURNING id",
        (now - created, now - sent if sent is not None else None, ids),
    )


async def test_a_notice_is_stored_once_per_dedup_key_and_needs_one(pool, make_user):
    user = await make_user()
    key = _key()
    async with pool.connection() as conn:
        first = await outbox.add(
            conn, user_id=user.id, key="notify.video.approved", params={"url": "u", "amount": "1.50"}, dedup_key=key
        )
        again = await outbox.add(
            conn, user_id=user.id, key="notify.video.approved", params={"url": "other"}, dedup_key=key
        )
        stored = await outbox.get(conn, dedup_key=key)
        with pytest.raises(outbox.InvalidNotice):
            await outbox.add(conn, user_id=user.id, key="notify.video.approved", params={}, dedup_key="")
        with pytest.raises(outbox.InvalidNotice):
            await outbox.add(conn, user_id=user.id, key="notify.video.approved", params=["u"], dedup_key=_key())
    assert first is not None and again is None
    assert stored == first and stored.params == {"url": "u", "amount": "1.50"} and stored.sent_at is None


async def test_a_notice_staged_in_a_rolled_back_transaction_is_gone(pool, make_user):
    user = await make_user()
    key = _key()
    with pytest.raises(RuntimeError):
        async with unit_of_work(pool) as conn:
            await outbox.add(conn, user_id=user.id, key="notify.video.approved", params={}, dedup_key=key)
            raise RuntimeError("the state change failed")
    async with pool.connection() as conn:
        assert await outbox.get(conn, dedup_key=key) is None


async def test_two_relays_claim_disjoint_unsent_rows_after_the_grace_period(pool, make_user):
    user = await make_user()
    async with pool.connection() as conn:
        old = [(await outbox.add(conn, user_id=user.id, key="k", params={}, dedup_key=_key())).id for _ in range(4)]
        fresh = (await outbox.add(conn, user_id=user.id, key="k", params={}, dedup_key=_key())).id
        sent = (await outbox.add(conn, user_id=user.id, key="k", params={}, dedup_key=_key())).id
        await _backdate(conn, old, created=timedelta(minutes=1))
        await _backdate(conn, [sent], created=timedelta(minutes=1), sent=timedelta(minutes=1))
    created_before = datetime.now(timezone.utc) - timedelta(seconds=30)
    first_claimed = asyncio.Event()
    release = asyncio.Event()
    seen: dict[str, set[int]] = {}

    async def relay(name: str, *, hold: bool) -> None:
        async with unit_of_work(pool) as conn:
            claimed = await outbox.claim_unsent(conn, created_before=created_before, limit=10_000)
            seen[name] = {entry.id for entry in claimed}
            if hold:
                first_claimed.set()
                await release.wait()
            await outbox.mark_relayed(conn, ids=[i for i in seen[name] if i in old])

    holder = asyncio.create_task(relay("first", hold=True))
    await first_claimed.wait()
    await relay("second", hold=False)  # runs while the first still holds its rows
    release.set()
    await holder
    mine = set(old) | {fresh, sent}
    assert seen["first"] & mine == set(old)
    assert seen["second"] & mine == set()
    async with pool.connection() as conn:
        entries = {i: await _entry_by_id(conn, i) for i in mine}
    # relayed = handed to the broker again, not sent: only the notifications actor confirms
    assert all(
        entries[i].relays == 1 and entries[i].enqueued_at is not None and entries[i].sent_at is None for i in old
    )
    assert entries[fresh].enqueued_at is None and entries[fresh].relays == 0
    async with pool.connection() as conn:
        assert await outbox.mark_enqueued(conn, ids=[fresh]) == 1
        assert await outbox.confirm_sent(conn, dedup_key=(await _entry_by_id(conn, fresh)).dedup_key) is True
        assert (
            await outbox.confirm_sent(conn, dedup_key=(await _entry_by_id(conn, fresh)).dedup_key) is False
        )  # confirmed once
        assert await outbox.mark_enqueued(conn, ids=[fresh]) == 0  # a confirmed row is never re-stamped


async def test_an_enqueued_notice_is_relayed_until_the_notifications_actor_confirms_it(pool, make_user):
    """The broker may lose an enqueued notify message: enqueued is not sent."""
    user = await make_user()
    now = datetime.now(timezone.utc)
    async with pool.connection() as conn:
        lost, waiting, confirmed, worn = [
            (await outbox.add(conn, user_id=user.id, key="k", params={}, dedup_key=_key())) for _ in range(4)
        ]
        ids = [lost.id, waiting.id, confirmed.id, worn.id]
        await fetch_all(
            conn,
            "UPDATE outbox SET created_at = %s, enqueued_at = %s WHERE id = ANY(%s) RETURNING id",
            (now - timedelta(minutes=5), now - timedelta(minutes=2), [lost.id, confirmed.id, worn.id]),
        )
        await fetch_all(
            conn,
            "UPDATE outbox SET created_at = %s, enqueued_at = %s WHERE id = %s RETURNING id",
            (now - timedelta(minutes=5), now - timedelta(seconds=10), waiting.id),
        )
        await fetch_all(conn, "UPDATE outbox SET relays = 60 WHERE id = %s RETURNING id", (worn.id,))
        assert await outbox.confirm_sent(conn, dedup_key=confirmed.dedup_key)

    async def claim(at: datetime) -> set[int]:
        async with unit_of_work(pool) as conn:
            claimed = await outbox.claim_unsent(
                conn,
                created_before=at - timedelta(seconds=30),
                now=at,
                resend_after=timedelta(minutes=1),
                max_relays=60,
                limit=100_000,
            )
            await outbox.mark_relayed(conn, ids=[e.id for e in claimed if e.id in ids], now=at)
        return {e.id for e in claimed} & set(ids)

    assert await claim(now) == {lost.id}  # enqueued 2 min ago, never confirmed
    assert await claim(now) == set()  # the relay stamped it enqueued again
    assert await claim(now + timedelta(minutes=1, seconds=30)) == {waiting.id}  # relayed once: its next wait is 2 min
    assert await claim(now + timedelta(minutes=3)) == {lost.id}
    async with pool.connection() as conn:
        assert (await outbox.get(conn, dedup_key=lost.dedup_key)).relays == 2


async def _entry_by_id(conn, entry_id: int) -> outbox.OutboxEntry:
    rows = await fetch_all(conn, "SELECT dedup_key FROM outbox WHERE id = %s", (entry_id,))
    return await outbox.get(conn, dedup_key=rows[0]["dedup_key"])


async def test_sent_rows_are_purged_after_the_retention_unsent_ones_never(pool, make_user):
    user = await make_user()
    async with pool.connection() as conn:
        ids = [(await outbox.add(conn, user_id=user.id, key="k", params={}, dedup_key=_key())).id for _ in range(3)]
        await _backdate(conn, [ids[0]], created=timedelta(days=9), sent=timedelta(days=8))  # sent long ago
        await _backdate(conn, [ids[1]], created=timedelta(days=9), sent=timedelta(days=1))  # sent recently
        await _backdate(conn, [ids[2]], created=timedelta(days=9))  # never sent
        await outbox.purge_sent(conn, sent_before=datetime.now(timezone.utc) - timedelta(days=7), limit=100_000)
        left = {row["id"] for row in await fetch_all(conn, "SELECT id FROM outbox WHERE id = ANY(%s)", (ids,))}
    assert left == {ids[1], ids[2]}


async def test_credit_notices_once_per_window_with_the_amounts_in_between_added_up(pool, make_user):
    user = await make_user()
    async with pool.connection() as conn:
        external = uuid.uuid4().hex[:11]
        video, _ = await videos.insert(
            conn,
            platform="youtube",
            external_id=external,
            user_id=user.id,
            url=f"https://youtu.be/{external}",
            request_id=uuid.uuid4().hex,
            status="approved",
        )
    window = timedelta(hours=6)
    start = datetime.now(timezone.utc)

    async def due(total: str, now_amount: str, at: timedelta) -> Decimal | None:
        async with unit_of_work(pool) as conn:
            return await credit_notices.due_amount(
                conn,
                video_id=video.id,
                credited_total=Decimal(total),
                credited_now=Decimal(now_amount),
                now=start + at,
                window=window,
            )

    assert await due("100.00", "100.00", timedelta(0)) == Decimal("100.00")  # first credit: told at once
    assert await due("130.00", "30.00", timedelta(hours=1)) is None  # window closed
    assert await due("150.00", "20.00", timedelta(hours=2)) is None
    assert await due("175.00", "25.00", timedelta(hours=6, seconds=1)) == Decimal("75.00")  # 30 + 20 + 25
    assert await due("180.00", "5.00", timedelta(hours=7)) is None
    with pytest.raises(RuntimeError):  # a rolled-back check neither uses the window nor loses the amount
        async with unit_of_work(pool) as conn:
            await credit_notices.due_amount(
                conn,
                video_id=video.id,
                credited_total=Decimal("200.00"),
                credited_now=Decimal("20.00"),
                now=start + timedelta(hours=13),
                window=window,
            )
            raise RuntimeError("rolled back")
    assert await due("200.00", "20.00", timedelta(hours=13)) == Decimal("25.00")  # 5 + 20
