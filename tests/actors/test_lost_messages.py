"""Redis emptied (a restart without persistence) while submissions are queued and in flight:
every acknowledged link still becomes a video, is checked and credited once, and each
notice reaches its creator once.

Real processes: `zenith worker` (submission, parsing, notifications) and `zenith clock`
as subprocesses, the fake YouTube API answering slowly enough that work piles up, the
Telegram sandbox. The links are accepted through the one intake path the bot and the
API use (`zenith.messaging.submissions.submit_link`); then every key of the test's Redis namespace
is deleted — the broker's queues, the messages the worker had fetched (in flight) and
the notify de-duplication keys. Nothing but PostgreSQL remembers the work: the clock
re-sends it after SUBMISSION_RESEND_SECONDS / CHECK_RESEND_SECONDS /
NOTICE_RESEND_SECONDS (3 s here, 60 s by default). Prints how long the work took to
resume.
"""

from __future__ import annotations

import asyncio
import time
from datetime import datetime, timezone
from decimal import Decimal

import redis

from tests.actors.conftest import delete_namespace, eventually, new_channel_id, new_youtube_id
from zenith.messaging.broker import build_broker
from zenith.messaging.contract import NOTIFY, send
from zenith.messaging.submissions import submit_link
from zenith.storage.db import fetch_all, unit_of_work

CREATORS = 3
VIDEOS_EACH = 5
RESEND_SECONDS = "3"


def _in_redis(redis_url: str, namespace: str, queue: str) -> tuple[int, int]:
    """(messages queued, messages fetched by a worker and not acknowledged) of ``queue``."""
    client = redis.Redis.from_url(redis_url)
    try:
        queued = client.llen(f"{namespace}:{queue}")
        in_flight = sum(client.scard(key) for key in client.scan_iter(match=f"{namespace}:__acks__.*.{queue}"))
        return queued, in_flight
    finally:
        client.close()


async def _submissions(pool, request_ids: list[str]) -> dict[str, str]:
    async with pool.connection() as conn:
        rows = await fetch_all(
            conn, "SELECT request_id, status FROM submissions WHERE request_id = ANY(%s)", (request_ids,)
        )
    return {row["request_id"]: row["status"] for row in rows}


async def _credited(pool, request_ids: list[str]) -> list[dict]:
    async with pool.connection() as conn:
        return await fetch_all(
            conn,
            """
            SELECT v.id, v.request_id, v.credited,
                   (SELECT count(*) FROM ledger_transfers t WHERE t.video_id = v.id AND t.kind = 'earning') AS transfers,
                   (SELECT count(*) FROM view_snapshots s WHERE s.video_id = v.id) AS snapshots
              FROM videos v WHERE v.request_id = ANY(%s) ORDER BY v.id
            """,
            (request_ids,),
        )


async def test_redis_emptied_with_submissions_queued_and_in_flight_loses_no_acknowledged_link(
    spawn, sandbox, fake_youtube, make_user, make_verified_account, make_settings, actor_env, pool, redis_url
):
    state, _ = sandbox
    namespace = actor_env["REDIS_NAMESPACE"]
    env = {
        **actor_env,
        "CLOCK_TICK_SECONDS": "0.5",
        "SUBMISSION_RESEND_SECONDS": RESEND_SECONDS,
        "CHECK_RESEND_SECONDS": RESEND_SECONDS,
        "NOTICE_RESEND_SECONDS": RESEND_SECONDS,
    }
    settings = make_settings(**env)
    fake_youtube.state.response_delay = 1.0  # each videos.list call: submissions wait in the queue and in the worker
    creators = []
    for _ in range(CREATORS):
        user = await make_user(tier="gold", language="en")
        state.add_user(user.telegram_id)
        channel = new_channel_id()
        await make_verified_account(user, "youtube", channel)
        links = []
        for _ in range(VIDEOS_EACH):
            external = new_youtube_id()
            fake_youtube.state.add_video(external, views=20_000, channel_id=channel)
            links.append((f"{user.id}:lost:{external}", f"https://www.youtube.com/watch?v={external}"))
        creators.append((user, links))
    request_ids = [request_id for _, links in creators for request_id, _ in links]

    broker = build_broker(settings, redis_url=redis_url, namespace=namespace)
    try:

        async def wake(route, *args):
            return await asyncio.to_thread(send, route, *args, broker=broker)

        spawn(
            ["-m", "zenith", "worker", "--queues", "submission", "parsing", "notifications", "--threads", "6"], env=env
        )
        # the worker's first notice loads aiogram (seconds of CPU): done before the clock is timed
        warm = await make_user(language="en")
        state.add_user(warm.telegram_id)
        send(NOTIFY, warm.id, "notify.user.unbanned", {}, None, None, broker=broker)
        await state.wait_for_message(warm.telegram_id, timeout=60)
        for user, links in creators:  # what the bot does before it answers "accepted"
            for request_id, url in links:
                await submit_link(
                    send=wake,
                    transaction=lambda: unit_of_work(pool),
                    settings=settings,
                    user=user,
                    link=url,
                    request_id=request_id,
                    source="test",
                )
        assert set((await _submissions(pool, request_ids)).values()) <= {"received", "stored"}

        # the worker is busy: some submissions are in its hands, the rest wait in the queue;
        # Redis restarts without persistence in that very moment
        queued, in_flight = await eventually(
            lambda: _lose_redis_while_busy(redis_url, namespace),
            timeout=30,
            interval=0.05,
            what="submissions queued and in flight",
        )
        lost_at, lost_wall = time.monotonic(), datetime.now(timezone.utc)
        waiting = [rid for rid, status in (await _submissions(pool, request_ids)).items() if status == "received"]
        assert queued > 0 and in_flight > 0 and waiting

        spawn(["-m", "zenith", "clock"], env=env)
        first = None
        while time.monotonic() - lost_at < 90:
            statuses = await _submissions(pool, waiting)
            if first is None and any(status == "stored" for status in statuses.values()):
                first = time.monotonic() - lost_at
            if all(status == "stored" for status in statuses.values()):
                break
            await asyncio.sleep(0.1)
        stored_all = time.monotonic() - lost_at
        rows = await eventually(lambda: _all_credited(pool, request_ids), timeout=60, what="every video credited")
        credited_all = time.monotonic() - lost_at
        async with pool.connection() as conn:
            finished = await fetch_all(
                conn,
                "SELECT finished_at, resends FROM submissions WHERE request_id = ANY(%s) ORDER BY finished_at",
                (waiting,),
            )
        offsets = ", ".join(
            f"{(row['finished_at'] - lost_wall).total_seconds():.1f}{'*' if row['resends'] else ''}" for row in finished
        )
        print(
            f"\nRedis emptied with {queued} submissions queued and {in_flight} in flight ({len(waiting)} not stored yet): "
            f"first stored {first:.1f} s later, all stored {stored_all:.1f} s, all credited {credited_all:.1f} s "
            f"(resend thresholds {RESEND_SECONDS} s, clock tick 0.5 s); stored at s after the loss (* re-sent by the clock): {offsets}"
        )

        for user, _links in creators:
            await eventually(
                lambda u=user: len(state.messages_for(u.telegram_id)) >= 2 * VIDEOS_EACH,
                timeout=60,
                what="every approved and credited notice delivered",
            )
        await asyncio.sleep(2.0)  # a duplicate would arrive within this (1 message per second per chat)
    finally:
        broker.close()

    assert set((await _submissions(pool, request_ids)).values()) == {"stored"}
    assert len(rows) == len(request_ids)
    assert all(row["credited"] == Decimal("1300.00") and row["transfers"] == 1 for row in rows)  # credited once
    for user, links in creators:
        texts = [m.text for m in state.messages_for(user.telegram_id)]
        for _, url in links:
            assert sum(1 for text in texts if text.startswith("✅ Video approved") and url in text) == 1
            assert sum(1 for text in texts if text.startswith("💰 +1,300.00 RUB") and url in text) == 1
        assert len(texts) == 2 * VIDEOS_EACH


def _lose_redis_while_busy(redis_url: str, namespace: str) -> tuple[int, int] | None:
    """When submissions are both queued and in a worker's hands, empty the namespace at once
    (Redis restarted without persistence) and return those counts; else None. Checked and
    emptied in one step: a busy worker may drain the queue between two separate looks."""
    queued, in_flight = _in_redis(redis_url, namespace, "submission")
    if queued > 0 and in_flight > 0:
        delete_namespace(redis_url, namespace)
        return queued, in_flight
    return None


async def _all_credited(pool, request_ids: list[str]):
    rows = await _credited(pool, request_ids)
    return rows if len(rows) == len(request_ids) and all(row["credited"] > 0 for row in rows) else None
