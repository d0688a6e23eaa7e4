"""One bad answer never hurts the rest of a batch, and a passing glitch never ends tracking.

A real in-process worker, the fake YouTube API at the HTTP level, the Telegram sandbox:

* a 50-video batch where one item says viewCount "1e30": the 49 others are credited
  once (one snapshot, one ledger transfer each, one credit notice each), the poisoned
  video is asked about again on its own and quarantined with the raw answer; nobody is
  told "could not check" or "not found";
* every kind of unreadable count ("1e+20", 12.5, NaN, "lots", no viewCount) is quarantined
  and shows in the admin's quarantine list, while the good video of the batch is credited;
  a whole number that cannot be real (-5000) is the trust gate's: refused, not quarantined,
  nothing credited;
* an empty ``items`` answer and items without ``id`` for two rounds: no video is
  declared gone, the next round credits them all;
* a video really gone is declared so only after VIDEO_GONE_AFTER_CHECKS misses spread
  over VIDEO_GONE_AFTER_HOURS, and its creator is told once.
"""

from __future__ import annotations

import asyncio
import uuid
from datetime import datetime, timedelta, timezone
from decimal import Decimal

from tests.actors.conftest import eventually, new_channel_id, new_youtube_id
from zenith.actors import parsing
from zenith.actors.clock import enqueue_due_checks
from zenith.actors.runtime import Runtime
from zenith.messaging.contract import CHECK_VIDEOS, send
from zenith.storage import check_faults, videos
from zenith.storage.db import fetch_all, unit_of_work

WRONG_NOTICES = ("could not check", "stays queued", "not found", "not available")


async def _creators_with_videos(
    pool, fake_youtube, sandbox_state, make_user, make_verified_account, count: int, *, views: int = 20_000
):
    """``count`` gold creators, one due YouTube video each: [(user, video)]."""
    made = []
    due = datetime.now(timezone.utc) - timedelta(minutes=1)
    for _ in range(count):
        user = await make_user(tier="gold", language="en")
        sandbox_state.add_user(user.telegram_id)
        channel = new_channel_id()
        account = await make_verified_account(user, "youtube", channel)
        external = new_youtube_id()
        fake_youtube.state.add_video(external, views=views, channel_id=channel)
        async with unit_of_work(pool) as conn:
            video, _ = await videos.insert(
                conn,
                platform="youtube",
                external_id=external,
                user_id=user.id,
                url=f"https://www.youtube.com/watch?v={external}",
                request_id=uuid.uuid4().hex,
                account_id=account.id,
                status="approved",
                next_check_at=due,
            )
        made.append((user, video))
    return made


async def _earnings(pool, video_id: int) -> list[Decimal]:
    async with pool.connection() as conn:
        rows = await fetch_all(
            conn,
            "SELECT amount FROM ledger_transfers WHERE video_id = %s AND kind = 'earning' ORDER BY id",
            (video_id,),
        )
    return [row["amount"] for row in rows]


async def _snapshots(pool, video_id: int) -> int:
    async with pool.connection() as conn:
        rows = await fetch_all(conn, "SELECT count(*) AS n FROM view_snapshots WHERE video_id = %s", (video_id,))
    return rows[0]["n"]


async def _quarantined(pool, video_id: int):
    async with pool.connection() as conn:
        return await check_faults.get_quarantined(conn, video_id=video_id)


def _wrong_notices(state, people) -> list[str]:
    return [
        m.text
        for user in people
        for m in state.messages_for(user.telegram_id)
        if any(w in m.text for w in WRONG_NOTICES)
    ]


async def test_one_poisoned_item_in_a_50_video_batch_is_quarantined_and_the_49_are_credited_once(
    running_worker, sandbox, fake_youtube, make_user, make_verified_account, pool, monkeypatch
):
    monkeypatch.setattr(parsing, "RETRY_BASE_MS", 100)  # the poisoned video is asked again after 0.1, 0.2 s
    state, _ = sandbox
    made = await _creators_with_videos(pool, fake_youtube, state, make_user, make_verified_account, 50)
    poisoned_user, poisoned = made[17]
    fake_youtube.state.videos[poisoned.external_id].statistics = {"viewCount": "1e30", "likeCount": "3"}
    good = [(user, video) for user, video in made if video.id != poisoned.id]
    ids = {video.external_id for _, video in made}
    async with running_worker(CHECK_UNREADABLE_LIMIT="3") as worker:
        send(
            CHECK_VIDEOS, [video.id for _, video in made], broker=worker.broker
        )  # one message, 50 ids, as the clock sends them
        entry = await eventually(lambda: _quarantined(pool, poisoned.id), timeout=30, what="poisoned video quarantined")
        for user, _video in good:
            await state.wait_for_message(user.telegram_id, contains="+1,300.00 RUB", timeout=30)
        await asyncio.sleep(1.5)  # a duplicate or a wrong notice would arrive within this

    for user, video in good:
        assert await _earnings(pool, video.id) == [Decimal("1300.00")]  # credited once
        assert await _snapshots(pool, video.id) == 1  # stored once, never re-stored by a retry
        assert len(state.messages_for(user.telegram_id)) == 1
    assert await _earnings(pool, poisoned.id) == [] and await _snapshots(pool, poisoned.id) == 0
    assert state.messages_for(poisoned_user.telegram_id) == []  # nothing false to tell its creator
    assert _wrong_notices(state, [user for user, _ in made]) == []
    # the first call asked for all 50; the re-asks were for the poisoned video alone
    calls = [call for call in fake_youtube.state.ids_per_call("videos") if set(call) & ids]
    assert sorted(calls[0]) == sorted(ids) and all(call == [poisoned.external_id] for call in calls[1:])
    assert len(calls) == 3
    assert entry.attempts == 3 and "viewCount='1e30'" in entry.reason and '"viewCount": "1e30"' in entry.raw_answer
    async with pool.connection() as conn:
        held = await videos.get(conn, poisoned.id)
    assert (
        held.status == "approved" and held.next_check_at is None and held.check_enqueued_at is None
    )  # off the re-check queue


async def test_every_kind_of_unreadable_count_is_quarantined_and_listed_for_admins(
    running_worker, sandbox, fake_youtube, make_user, make_verified_account, pool, monkeypatch
):
    monkeypatch.setattr(parsing, "RETRY_BASE_MS", 100)
    state, _ = sandbox
    poisons = {
        "exponent": {"viewCount": "1e+20"},
        "fraction": {"viewCount": 12.5},
        "non-finite": {"viewCount": float("nan")},
        "text": {"viewCount": "lots"},
        "missing": {"likeCount": "4"},
    }
    made = await _creators_with_videos(pool, fake_youtube, state, make_user, make_verified_account, len(poisons) + 2)
    (good_user, good), (_, negative), poisoned = made[0], made[1], made[2:]
    for (_, video), statistics in zip(poisoned, poisons.values(), strict=False):
        fake_youtube.state.videos[video.external_id].statistics = statistics
    fake_youtube.state.videos[negative.external_id].statistics = {"viewCount": "-5000"}
    async with running_worker(CHECK_UNREADABLE_LIMIT="2") as worker:
        send(CHECK_VIDEOS, [video.id for _, video in made], broker=worker.broker)
        for _, video in poisoned:
            await eventually(lambda v=video: _quarantined(pool, v.id), timeout=30, what=f"video {video.id} quarantined")
        await state.wait_for_message(good_user.telegram_id, contains="+1,300.00 RUB", timeout=20)
    async with pool.connection() as conn:
        listed = {entry.video_id: entry for entry in await check_faults.list_quarantined(conn, limit=1000)}
    for (_, video), name in zip(poisoned, poisons, strict=False):
        assert video.id in listed, name
        assert listed[video.id].attempts == 2 and listed[video.id].raw_answer.startswith("{"), name
        assert await _earnings(pool, video.id) == [], name
    assert "1e+20" in listed[poisoned[0][1].id].raw_answer and "NaN" in listed[poisoned[2][1].id].raw_answer
    assert "no viewCount" in listed[poisoned[4][1].id].reason
    assert negative.id not in listed and await _earnings(pool, negative.id) == []  # refused by the trust gate instead
    assert await _earnings(pool, good.id) == [Decimal("1300.00")]
    assert _wrong_notices(state, [user for user, _ in made]) == []


async def test_empty_answers_for_a_while_declare_no_video_gone(
    running_worker, sandbox, fake_youtube, make_user, make_verified_account, pool
):
    state, _ = sandbox
    made = await _creators_with_videos(pool, fake_youtube, state, make_user, make_verified_account, 10)
    ids = [video.id for _, video in made]
    fake_youtube.state.fail_next("empty")  # round 1: {"items": []}
    fake_youtube.state.fail_next("no_id")  # round 2: every item without "id"
    async with running_worker() as worker:  # defaults: gone after 3 misses over 24 h
        # the rounds are sent directly (the clock would mix in other due videos of the session)
        for round_ in (1, 2):
            send(CHECK_VIDEOS, ids, broker=worker.broker)
            await eventually(lambda n=round_: _all_missed(pool, ids, n), timeout=20, what=f"miss {round_} recorded")
            async with pool.connection() as conn:
                waiting = await videos.get_many(conn, ids)
            assert {v.status for v in waiting} == {"approved"}  # not declared gone
            # next check half the span later: the misses spread over the day
            assert all(
                v.check_enqueued_at is None and v.next_check_at > datetime.now(timezone.utc) + timedelta(hours=11)
                for v in waiting
            )
        send(CHECK_VIDEOS, ids, broker=worker.broker)  # the platform answers normally again
        for user, _video in made:
            await state.wait_for_message(user.telegram_id, contains="+1,300.00 RUB", timeout=20)
        await asyncio.sleep(1.0)
    async with pool.connection() as conn:
        assert await check_faults.get_many(conn, ids) == {}  # the misses were forgotten once it answered
        assert {v.status for v in await videos.get_many(conn, ids)} == {"approved"}
    for user, video in made:
        assert await _earnings(pool, video.id) == [Decimal("1300.00")]
        assert len(state.messages_for(user.telegram_id)) == 1
    assert _wrong_notices(state, [user for user, _ in made]) == []


async def _all_missed(pool, ids: list[int], count: int) -> bool:
    async with pool.connection() as conn:
        faults = await check_faults.get_many(conn, ids)
    return len(faults) == len(ids) and all(f.missing_checks == count for f in faults.values())


async def test_a_video_really_gone_is_declared_so_after_enough_misses_over_the_span_and_told_once(
    running_worker, sandbox, fake_youtube, make_user, make_verified_account, make_settings, actor_env, pool
):
    state, _ = sandbox
    [(user, video)] = await _creators_with_videos(pool, fake_youtube, state, make_user, make_verified_account, 1)
    del fake_youtube.state.videos[video.external_id]  # deleted on YouTube: left out of every answer
    env = {"VIDEO_GONE_AFTER_CHECKS": "3", "VIDEO_GONE_AFTER_HOURS": "0.001"}  # 3 misses over 3.6 s
    settings = make_settings(**actor_env, **env)
    started = datetime.now(timezone.utc)
    async with running_worker(**env) as worker:
        runtime = Runtime(
            settings, broker=worker.broker, database_url=settings.database_url, redis_url=settings.redis_url
        )
        try:
            while datetime.now(timezone.utc) - started < timedelta(seconds=20):
                # the clock's re-check duty (not its whole tick: relaying other tests' notices would only slow this one)
                await enqueue_due_checks(runtime, datetime.now(timezone.utc))
                async with pool.connection() as conn:
                    current = await videos.get(conn, video.id)
                    faults = (await check_faults.get_many(conn, [video.id])).get(video.id)
                if current.status == "failed":
                    break
                assert (
                    faults is None
                    or faults.missing_checks < 3
                    or datetime.now(timezone.utc) - faults.missing_since < timedelta(seconds=3.6)
                )
                await asyncio.sleep(0.3)
            message = await state.wait_for_message(user.telegram_id, contains="not found", timeout=10)
            await asyncio.sleep(1.5)
        finally:
            await runtime.close()
    assert current.status == "failed" and current.status_reason == "not_found"
    assert faults is not None and faults.missing_checks >= 2
    checks = [call for call in fake_youtube.state.ids_per_call("videos") if video.external_id in call]
    assert len(checks) == 3  # declared gone at the third miss, 3.6 s after the first
    assert len(state.messages_for(user.telegram_id)) == 1 and video.url in message.text
