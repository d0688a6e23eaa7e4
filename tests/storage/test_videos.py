"""Videos, snapshots, checks and the re-check queue."""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta, timezone
from decimal import Decimal

import pytest

from zenith.domain.videos import VideoStatus
from zenith.storage import checks, ledger, snapshots, videos
from zenith.storage.db import open_pool, unit_of_work

NOW = datetime(2026, 1, 10, 12, 0, tzinfo=timezone.utc)


async def _video(conn, user, n, **extra):
    video, created = await videos.insert(
        conn,
        platform="youtube",
        external_id=f"v{user.id}x{n}",
        user_id=user.id,
        url=f"https://youtu.be/v{user.id}x{n}",
        request_id=f"req-{user.id}-{n}",
        **extra,
    )
    assert created
    return video


async def test_insert_is_idempotent_per_request_and_refuses_duplicates(pool, make_user):
    user, other = await make_user(), await make_user()
    async with pool.connection() as conn:
        video = await _video(conn, user, 1, title="First")
        replay, created = await videos.insert(
            conn,
            platform="youtube",
            external_id=video.external_id,
            user_id=user.id,
            url=video.url,
            request_id=video.request_id,
        )
        assert not created and replay == video
        with pytest.raises(videos.DuplicateVideo) as caught:
            await videos.insert(
                conn,
                platform="youtube",
                external_id=video.external_id,
                user_id=other.id,
                url=video.url,
                request_id=f"other-{video.id}",
            )
        assert caught.value.existing.id == video.id
        assert await videos.find(conn, platform="youtube", external_id=video.external_id) == video
        assert await videos.get(conn, video.id) == video


async def test_list_for_user_pages_with_total_and_status_changes(pool, make_user):
    user = await make_user()
    async with pool.connection() as conn:
        made = [await _video(conn, user, n) for n in range(5)]
        page = await videos.list_for_user(conn, user_id=user.id, limit=2, offset=0)
        assert page.total == 5 and [v.id for v in page.items] == [made[4].id, made[3].id]
        assert (await videos.list_for_user(conn, user_id=user.id, limit=2, offset=10)).total == 5
        queue = await videos.moderation_queue(conn, limit=1000)
        assert {v.id for v in made} <= {v.id for v in queue}
        approved = await videos.set_status(
            conn,
            video_id=made[0].id,
            status="approved",
            moderated_by=7,
            from_statuses=("pending_moderation",),
            next_check_at=NOW,
        )
        assert approved.status == "approved" and approved.next_check_at == NOW and approved.moderated_by == 7
        # a second moderator's click finds it already moved
        assert (
            await videos.set_status(
                conn, video_id=made[0].id, status="rejected", reason="late", from_statuses=("pending_moderation",)
            )
            is None
        )
        rejected = await videos.set_status(conn, video_id=made[0].id, status="rejected", reason="fake views")
        assert rejected.status_reason == "fake views" and rejected.next_check_at is None
        counts = await videos.count_by_status(conn)
        assert counts["rejected"] >= 1 and set(counts) == set(VideoStatus)


async def test_record_check_credits_the_delta_once_per_snapshot(pool, make_user):
    user = await make_user()
    async with pool.connection() as conn:
        video = await _video(conn, user, 1, status="approved", next_check_at=NOW)
    async with unit_of_work(pool) as conn:
        first = await checks.record_check(
            conn,
            video_id=video.id,
            views=2000,
            likes=5,
            comments=1,
            taken_at=NOW,
            earned_total=Decimal("130.00"),
            next_check_at=NOW + timedelta(hours=1),
        )
    async with unit_of_work(pool) as conn:
        replay = await checks.record_check(
            conn,
            video_id=video.id,
            views=2000,
            likes=5,
            comments=1,
            taken_at=NOW,
            earned_total=Decimal("130.00"),
            next_check_at=NOW + timedelta(hours=1),
        )
    async with unit_of_work(pool) as conn:
        second = await checks.record_check(
            conn,
            video_id=video.id,
            views=3000,
            likes=6,
            comments=1,
            taken_at=NOW + timedelta(hours=1),
            earned_total=Decimal("195.00"),
            next_check_at=None,
            finished=True,
        )
    assert first.credited_now == Decimal("65.00") * 2 and not first.replay
    assert replay.replay and replay.credited_now == 0
    assert second.credited_now == Decimal("65.00") and second.video.status == "finished"
    assert second.video.credited == Decimal("195.00") and second.video.views == 3000
    async with pool.connection() as conn:
        assert (await ledger.balances(conn, user.id)).available == Decimal("195.00")
        chart = await snapshots.list_for_video(conn, video_id=video.id)
    assert [s.views for s in chart] == [2000, 3000]


async def test_claim_due_checks_never_hands_out_a_video_twice(database_url, make_user):
    user = await make_user()
    platform = "tiktok"
    claim_pool = await open_pool(database_url, min_size=2, max_size=2, name="claims")
    try:
        async with claim_pool.connection() as conn:
            made = []
            for n in range(40):
                video, _ = await videos.insert(
                    conn,
                    platform=platform,
                    external_id=f"due{user.id}x{n}",
                    user_id=user.id,
                    url=f"https://www.tiktok.com/@u/video/{n}",
                    request_id=f"due-{user.id}-{n}",
                    status="approved",
                    next_check_at=NOW - timedelta(days=3650, minutes=n),
                )
                made.append(video.id)
        claim_at = NOW - timedelta(days=3650)  # only these test videos are due this early

        async def claimer():
            got = []
            while True:
                async with unit_of_work(claim_pool) as conn:
                    ids = await videos.claim_due_checks(conn, now=claim_at, limit=3, platform=platform)
                    await asyncio.sleep(0.01)  # hold the row locks while the other claimer runs
                if not ids:
                    return got
                got += ids

        first, second = await asyncio.gather(claimer(), claimer())
        assert not set(first) & set(second)
        assert sorted(first + second) == sorted(made)
        async with unit_of_work(claim_pool) as conn:
            assert await videos.claim_due_checks(conn, now=claim_at, limit=100, platform=platform) == []
            # nothing stored for 10 minutes: the claims are stale and handed out once more
            stale = await videos.claim_stale_checks(
                conn,
                now=claim_at + timedelta(minutes=10),
                older_than=timedelta(minutes=5),
                limit=100,
                platform=platform,
            )
            assert sorted(stale) == sorted(made)
            assert await videos.release_checks(conn, video_ids=made[:2]) == 2
            assert await videos.claim_due_checks(conn, now=claim_at, limit=100, platform=platform) == sorted(made[:2])
    finally:
        await claim_pool.close()
